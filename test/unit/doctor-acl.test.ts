import assert from 'node:assert/strict';
import { ACCESS, ACE_TYPE, checkAccess, GUIDS, guidToString, parseSecurityDescriptor, sidToString, wellKnownSidName } from '../../agent/directory/acl.ts';

/** Binary SID from "S-1-5-21-…". */
function sid(text: string): Buffer {
  const [, rev, auth, ...subs] = text.split('-');
  const b = Buffer.alloc(8 + subs.length * 4);
  b[0] = Number(rev);
  b[1] = subs.length;
  b.writeUIntBE(Number(auth), 2, 6);
  subs.forEach((s, i) => b.writeUInt32LE(Number(s), 8 + i * 4));
  return b;
}

/** Binary GUID (first three fields little-endian). */
function guid(text: string): Buffer {
  const h = text.replace(/-/g, '');
  const b = Buffer.from(h, 'hex');
  return Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8)]);
}

interface AceSpec {
  type: number;
  flags?: number;
  mask: number;
  sid: string;
  objectType?: string;
  inheritedObjectType?: string;
}

function ace(a: AceSpec): Buffer {
  const body: Buffer[] = [];
  const mask = Buffer.alloc(4);
  mask.writeUInt32LE(a.mask);
  body.push(mask);
  if (a.type === ACE_TYPE.ALLOWED_OBJECT || a.type === ACE_TYPE.DENIED_OBJECT) {
    const flags = Buffer.alloc(4);
    flags.writeUInt32LE((a.objectType ? 1 : 0) | (a.inheritedObjectType ? 2 : 0));
    body.push(flags);
    if (a.objectType) body.push(guid(a.objectType));
    if (a.inheritedObjectType) body.push(guid(a.inheritedObjectType));
  }
  body.push(sid(a.sid));
  const content = Buffer.concat(body);
  const header = Buffer.alloc(4);
  header[0] = a.type;
  header[1] = a.flags ?? 0;
  header.writeUInt16LE(4 + content.length, 2);
  return Buffer.concat([header, content]);
}

function sd(aces: AceSpec[], options: { owner?: string; daclPresent?: boolean } = {}): Buffer {
  const acesBuf = Buffer.concat(aces.map(ace));
  const acl = Buffer.alloc(8);
  acl[0] = 4;
  acl.writeUInt16LE(8 + acesBuf.length, 2);
  acl.writeUInt16LE(aces.length, 4);
  const header = Buffer.alloc(20);
  header[0] = 1;
  header.writeUInt16LE(0x8000 | (options.daclPresent === false ? 0 : 0x0004), 2);
  const owner = options.owner ? sid(options.owner) : Buffer.alloc(0);
  if (options.owner) header.writeUInt32LE(20, 4);
  header.writeUInt32LE(options.daclPresent === false ? 0 : 20 + owner.length, 16);
  return Buffer.concat([header, owner, acl, acesBuf]);
}

const DOMAIN = 'S-1-5-21-719916188-4291196463-2749722752';
const SVC = `${DOMAIN}-1105`;
const OTHER = `${DOMAIN}-1200`;
const TOKEN = new Set([SVC, `${DOMAIN}-513`, 'S-1-1-0', 'S-1-5-11']);
const CIIO = 0x02 | 0x08;
const INHERITED = 0x10;

describe('agent/directory/acl', () => {
  describe('sidToString() / guidToString()', () => {
    it('reads SIDs and GUIDs as AD writes them', () => {
      assert.equal(sidToString(sid(SVC)), SVC);
      assert.equal(sidToString(Buffer.from('010100000000000100000000', 'hex')), 'S-1-1-0');
      assert.equal(guidToString(guid(GUIDS.resetPassword)), GUIDS.resetPassword);
      // schemaIDGUID of user as LDAP returns it (bytes), e.g. from ldbsearch/base64.
      assert.equal(guidToString(Buffer.from('ba7a96bfe60dd011a28500aa003049e2', 'hex')), GUIDS.userClass);
    });

    it('names well-known SIDs', () => {
      assert.equal(wellKnownSidName('S-1-1-0'), 'Everyone');
      assert.equal(wellKnownSidName(`${DOMAIN}-512`), 'Domain Admins');
      assert.equal(wellKnownSidName(SVC), undefined);
    });
  });

  describe('parseSecurityDescriptor()', () => {
    it('reads owner, plain and object ACEs', () => {
      const parsed = parseSecurityDescriptor(
        sd(
          [
            { type: ACE_TYPE.ALLOWED, mask: 0xf01ff, sid: `${DOMAIN}-512` },
            { type: ACE_TYPE.ALLOWED_OBJECT, flags: INHERITED, mask: ACCESS.CONTROL_ACCESS, sid: SVC, objectType: GUIDS.resetPassword, inheritedObjectType: GUIDS.userClass },
          ],
          { owner: `${DOMAIN}-512` },
        ),
      );
      assert.equal(parsed.owner, `${DOMAIN}-512`);
      assert.equal(parsed.dacl?.length, 2);
      assert.deepEqual(parsed.dacl?.[1], {
        type: ACE_TYPE.ALLOWED_OBJECT,
        flags: INHERITED,
        mask: ACCESS.CONTROL_ACCESS,
        sid: SVC,
        objectType: GUIDS.resetPassword,
        inheritedObjectType: GUIDS.userClass,
      });
    });

    it('rejects a truncated descriptor instead of guessing', () => {
      const full = sd([{ type: ACE_TYPE.ALLOWED, mask: 1, sid: SVC }]);
      assert.throws(() => parseSecurityDescriptor(full.subarray(0, full.length - 3)), /truncated|bad size|beyond/);
    });
  });

  describe('checkAccess()', () => {
    const reset = (aces: AceSpec[]) => checkAccess(parseSecurityDescriptor(sd(aces)).dacl, TOKEN, ACCESS.CONTROL_ACCESS, GUIDS.resetPassword, [GUIDS.userClass]);

    it('grants through an inherited object ACE for the right, naming it', () => {
      const d = reset([{ type: ACE_TYPE.ALLOWED_OBJECT, flags: INHERITED, mask: ACCESS.CONTROL_ACCESS, sid: SVC, objectType: GUIDS.resetPassword, inheritedObjectType: GUIDS.userClass }]);
      assert.equal(d.allowed, true);
      assert.equal(d.ace?.sid, SVC);
    });

    it('does not count an ACE for another right, another trustee, or an inherit-only one', () => {
      assert.equal(reset([{ type: ACE_TYPE.ALLOWED_OBJECT, mask: ACCESS.CONTROL_ACCESS, sid: SVC, objectType: GUIDS.changePassword }]).why, 'none');
      assert.equal(reset([{ type: ACE_TYPE.ALLOWED_OBJECT, mask: ACCESS.CONTROL_ACCESS, sid: OTHER, objectType: GUIDS.resetPassword }]).why, 'none');
      assert.equal(reset([{ type: ACE_TYPE.ALLOWED_OBJECT, flags: CIIO, mask: ACCESS.CONTROL_ACCESS, sid: SVC, objectType: GUIDS.resetPassword }]).why, 'none');
      assert.equal(reset([{ type: ACE_TYPE.ALLOWED_OBJECT, mask: ACCESS.WRITE_PROPERTY, sid: SVC, objectType: GUIDS.resetPassword }]).why, 'none');
    });

    it('grants all extended rights through a plain CR or full-control ACE, and through group membership', () => {
      assert.equal(reset([{ type: ACE_TYPE.ALLOWED, mask: 0xf01ff, sid: `${DOMAIN}-513` }]).allowed, true);
      assert.equal(reset([{ type: ACE_TYPE.ALLOWED, mask: ACCESS.CONTROL_ACCESS, sid: 'S-1-5-11' }]).allowed, true);
      assert.equal(reset([{ type: ACE_TYPE.ALLOWED_OBJECT, mask: ACCESS.CONTROL_ACCESS, sid: SVC, objectType: GUIDS.userClass }]).allowed, true);
    });

    it('lets the first deciding ACE win: a Deny before the Allow denies', () => {
      const d = reset([
        { type: ACE_TYPE.DENIED_OBJECT, mask: ACCESS.CONTROL_ACCESS, sid: 'S-1-1-0', objectType: GUIDS.resetPassword },
        { type: ACE_TYPE.ALLOWED_OBJECT, mask: ACCESS.CONTROL_ACCESS, sid: SVC, objectType: GUIDS.resetPassword },
      ]);
      assert.deepEqual([d.allowed, d.why, d.ace?.sid], [false, 'deny', 'S-1-1-0']);
      assert.equal(
        reset([
          { type: ACE_TYPE.ALLOWED_OBJECT, mask: ACCESS.CONTROL_ACCESS, sid: SVC, objectType: GUIDS.resetPassword },
          { type: ACE_TYPE.DENIED_OBJECT, mask: ACCESS.CONTROL_ACCESS, sid: 'S-1-1-0', objectType: GUIDS.resetPassword },
        ]).allowed,
        true,
      );
    });

    it('treats a missing DACL as everything allowed and an empty one as nothing', () => {
      assert.equal(checkAccess(parseSecurityDescriptor(sd([], { daclPresent: false })).dacl, TOKEN, ACCESS.CONTROL_ACCESS, GUIDS.resetPassword).why, 'no_dacl');
      assert.equal(reset([]).allowed, false);
    });
  });
});
