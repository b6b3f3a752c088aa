import * as liner from 'webcrypto-liner';
const { Crypto } = liner as any;
const ls: SubtleCrypto = new Crypto().subtle;
const ns = globalThis.crypto.subtle;
// ECDSA verify native signature with liner
const ec = await ns.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const data = new Uint8Array([1,2,3,4]);
const sig = await ns.sign({ name: 'ECDSA', hash: 'SHA-256' }, ec.privateKey, data);
const lpub = await ls.importKey('spki', await ns.exportKey('spki', ec.publicKey), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
console.log('ecdsa verify', await ls.verify({ name: 'ECDSA', hash: 'SHA-256' }, lpub, sig, data));
// AES-GCM
const raw = crypto.getRandomValues(new Uint8Array(32)); const iv = crypto.getRandomValues(new Uint8Array(12)); const aad = new Uint8Array([5,6]);
const lk = await ls.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
const nk = await ns.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
const ct = await ls.encrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 }, lk, data);
console.log('gcm liner->native', new Uint8Array(await ns.decrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 }, nk, ct)));
const ct2 = await ns.encrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 }, nk, data);
console.log('gcm native->liner', new Uint8Array(await ls.decrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 }, lk, ct2)));
const rk = await ls.importKey('spki', await ns.exportKey('spki', (await ns.generateKey({ name: 'RSA-OAEP', modulusLength: 3072, publicExponent: new Uint8Array([1,0,1]), hash: 'SHA-256' }, true, ['encrypt','decrypt'])).publicKey), { name: 'RSA-OAEP', hash: 'SHA-256' }, true, ['encrypt']);
const jwk = await ls.exportKey('jwk', rk); console.log('jwk', jwk.n?.length, jwk.e);
