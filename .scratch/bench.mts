import { measureExtension } from '/work/main/bench/extension.ts';
console.log(JSON.stringify(await measureExtension(console.log)));
