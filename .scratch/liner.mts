import * as liner from 'webcrypto-liner';
const { Crypto } = liner as any;
const ls: SubtleCrypto = new Crypto().subtle;
const ns = globalThis.crypto.subtle;
const pair = await ns.generateKey({ name: 'RSA-OAEP', modulusLength: 3072, publicExponent: new Uint8Array([1,0,1]), hash: 'SHA-256' }, true, ['encrypt','decrypt']);
const spki = await ns.exportKey('spki', pair.publicKey);
const lk = await ls.importKey('spki', spki, { name: 'RSA-OAEP', hash: 'SHA-256' }, true, ['encrypt']);
console.log('liner key', (lk as any).constructor?.name, lk.algorithm);
for (const label of [undefined, new Uint8Array([1,2,3])]) {
  const ct = await ls.encrypt(label ? { name: 'RSA-OAEP', label } : { name: 'RSA-OAEP' }, lk, new Uint8Array([9,9,9]));
  try { const pt = await ns.decrypt(label ? { name: 'RSA-OAEP', label } : { name: 'RSA-OAEP' }, pair.privateKey, ct); console.log('label', !!label, 'ok', new Uint8Array(pt)); } catch (e) { console.log('label', !!label, 'fail', String(e)); }
}
const ct = await ls.encrypt({ name: 'RSA-OAEP' }, lk, new Uint8Array([9,9,9]));
console.log('ct len', ct.byteLength);
const lpair = await ls.generateKey({ name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1,0,1]), hash: 'SHA-256' }, true, ['encrypt','decrypt']);
console.log('gen type', (lpair.publicKey as any).constructor.name);
const c2 = await ls.encrypt({ name: 'RSA-OAEP' }, lpair.publicKey, new Uint8Array([9,9,9]));
console.log(new Uint8Array(await ls.decrypt({ name: 'RSA-OAEP' }, lpair.privateKey, c2)));
console.log('key data', (lk as any).data?.map?.((x: Uint8Array) => x.length));
