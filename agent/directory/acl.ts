/**
 * Reading an AD security descriptor (the binary, self-relative nTSecurityDescriptor) and
 * deciding whether a token holds a right on it: what the "Effective Access" tab of Active
 * Directory Users and Computers and `dsacls` do on the client side.
 *
 * Used by `unlatch-agent doctor` for the two rights AD has no constructed attribute for: the
 * control-access (extended) rights Reset Password and Change Password. Attribute writes are
 * asked of the DC itself instead (`allowedAttributesEffective`), which also handles property
 * sets. Pure functions, no LDAP.
 *
 * The decision follows the access check of MS-DTYP 2.5.3.2 for one right: ACEs are walked in
 * order, INHERIT_ONLY ones skipped, and the first ACE whose trustee is in the token and whose
 * mask (and, for object ACEs, object type) covers the right decides — allow or deny. An object
 * ACE's object type matches the right's GUID, or the object's class GUID (a class-level object
 * ACE covers everything below it). The inherited-object-type GUID only governs inheritance and
 * plays no part in the check. A DACL that is absent grants everything; an empty one nothing.
 */

/** Bits of an ACCESS_MASK that matter for directory objects. */
export const ACCESS = {
  CREATE_CHILD: 0x1,
  DELETE_CHILD: 0x2,
  LIST: 0x4,
  SELF_WRITE: 0x8,
  READ_PROPERTY: 0x10,
  WRITE_PROPERTY: 0x20,
  CONTROL_ACCESS: 0x100,
  READ_CONTROL: 0x20000,
  WRITE_DAC: 0x40000,
  GENERIC_ALL: 0x10000000,
} as const;

export const ACE_TYPE = {
  ALLOWED: 0x0,
  DENIED: 0x1,
  ALLOWED_OBJECT: 0x5,
  DENIED_OBJECT: 0x6,
} as const;

const INHERIT_ONLY_ACE = 0x08;
const ACE_OBJECT_TYPE_PRESENT = 0x1;
const ACE_INHERITED_OBJECT_TYPE_PRESENT = 0x2;
const SE_DACL_PRESENT = 0x0004;

/** The extended rights and classes the agent cares about (schemaIDGUID / rightsGuid). */
export const GUIDS = {
  resetPassword: '00299570-246d-11d0-a768-00aa006e0529',
  changePassword: 'ab721a53-1e2f-11d0-9819-00aa0040529b',
  lockoutTime: '28630ebf-41d5-11d1-a9c1-0000f80367c1',
  pwdLastSet: 'bf967a0a-0de6-11d0-a285-00aa003049e2',
  userClass: 'bf967aba-0de6-11d0-a285-00aa003049e2',
} as const;

export interface Ace {
  type: number;
  flags: number;
  mask: number;
  /** Trustee, as S-1-5-… */
  sid: string;
  objectType?: string;
  inheritedObjectType?: string;
}

export interface SecurityDescriptor {
  control: number;
  owner?: string;
  group?: string;
  /** null: no DACL (everything allowed to everyone). */
  dacl: Ace[] | null;
}

/** A binary SID → "S-1-5-21-…". Throws on a malformed one. */
export function sidToString(buf: Uint8Array, offset = 0): string {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < offset + 8) throw new Error('SID: truncated');
  const revision = b[offset] as number;
  const count = b[offset + 1] as number;
  if (b.length < offset + 8 + count * 4) throw new Error('SID: truncated');
  const authority = b.readUIntBE(offset + 2, 6);
  const subs: number[] = [];
  for (let i = 0; i < count; i++) subs.push(b.readUInt32LE(offset + 8 + i * 4));
  return `S-${revision}-${authority}${subs.map((s) => `-${s}`).join('')}`;
}

/** Byte length of the SID at `offset`. */
function sidLength(b: Buffer, offset: number): number {
  return 8 + (b[offset + 1] as number) * 4;
}

/** A binary GUID (first three fields little-endian) → "00299570-246d-11d0-a768-00aa006e0529". */
export function guidToString(buf: Uint8Array, offset = 0): string {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < offset + 16) throw new Error('GUID: truncated');
  const hex = (start: number, end: number) => b.subarray(offset + start, offset + end).toString('hex');
  const le = (start: number, len: number) => Buffer.from(b.subarray(offset + start, offset + start + len)).reverse().toString('hex');
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${hex(8, 10)}-${hex(10, 16)}`;
}

/** Parses a self-relative security descriptor (what LDAP returns for nTSecurityDescriptor). */
export function parseSecurityDescriptor(buf: Uint8Array): SecurityDescriptor {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 20 || b[0] !== 1) throw new Error('security descriptor: not a revision-1 self-relative descriptor');
  const control = b.readUInt16LE(2);
  const ownerOff = b.readUInt32LE(4);
  const groupOff = b.readUInt32LE(8);
  const daclOff = b.readUInt32LE(16);
  const sd: SecurityDescriptor = { control, dacl: null };
  if (ownerOff) sd.owner = sidToString(b, ownerOff);
  if (groupOff) sd.group = sidToString(b, groupOff);
  if ((control & SE_DACL_PRESENT) && daclOff) sd.dacl = parseAcl(b, daclOff);
  return sd;
}

function parseAcl(b: Buffer, offset: number): Ace[] {
  if (b.length < offset + 8) throw new Error('ACL: truncated');
  const size = b.readUInt16LE(offset + 2);
  const count = b.readUInt16LE(offset + 4);
  const end = offset + size;
  if (end > b.length) throw new Error('ACL: truncated');
  const aces: Ace[] = [];
  let p = offset + 8;
  for (let i = 0; i < count; i++) {
    if (p + 4 > end) throw new Error('ACE: truncated');
    const type = b[p] as number;
    const flags = b[p + 1] as number;
    const aceSize = b.readUInt16LE(p + 2);
    if (aceSize < 8 || p + aceSize > end) throw new Error('ACE: bad size');
    const mask = b.readUInt32LE(p + 4);
    if (type === ACE_TYPE.ALLOWED || type === ACE_TYPE.DENIED) {
      if (p + 8 + sidLength(b, p + 8) > p + aceSize) throw new Error('ACE: SID beyond the ACE');
      aces.push({ type, flags, mask, sid: sidToString(b, p + 8) });
    } else if (type === ACE_TYPE.ALLOWED_OBJECT || type === ACE_TYPE.DENIED_OBJECT) {
      const objFlags = b.readUInt32LE(p + 8);
      let q = p + 12;
      const ace: Ace = { type, flags, mask, sid: '' };
      if (objFlags & ACE_OBJECT_TYPE_PRESENT) {
        ace.objectType = guidToString(b, q);
        q += 16;
      }
      if (objFlags & ACE_INHERITED_OBJECT_TYPE_PRESENT) {
        ace.inheritedObjectType = guidToString(b, q);
        q += 16;
      }
      if (q + sidLength(b, q) > p + aceSize) throw new Error('ACE: SID beyond the ACE');
      ace.sid = sidToString(b, q);
      aces.push(ace);
    }
    // Other types (audit, callback, mandatory label) never grant or deny a directory right.
    p += aceSize;
  }
  return aces;
}

export interface AccessDecision {
  allowed: boolean;
  /** The ACE that decided (absent when nothing in the DACL covers the right). */
  ace?: Ace;
  /** 'deny': an explicit deny ACE decided; 'none': no ACE grants it. */
  why: 'allow' | 'deny' | 'none' | 'no_dacl';
}

/**
 * Does a token (its SIDs) hold `right` (one ACCESS bit) on the object whose DACL this is?
 * `objectType` narrows it to an extended right, property or property set; `classGuids` are the
 * object's class GUIDs (a class-level object ACE covers all of them).
 */
export function checkAccess(
  dacl: Ace[] | null,
  token: ReadonlySet<string>,
  right: number,
  objectType?: string,
  classGuids: readonly string[] = [],
): AccessDecision {
  if (dacl === null) return { allowed: true, why: 'no_dacl' };
  const wanted = objectType?.toLowerCase();
  const classes = new Set(classGuids.map((g) => g.toLowerCase()));
  for (const ace of dacl) {
    if (ace.flags & INHERIT_ONLY_ACE) continue;
    if (!token.has(ace.sid)) continue;
    if (!(ace.mask & right) && !(ace.mask & ACCESS.GENERIC_ALL)) continue;
    const isObject = ace.type === ACE_TYPE.ALLOWED_OBJECT || ace.type === ACE_TYPE.DENIED_OBJECT;
    if (isObject && ace.objectType) {
      const t = ace.objectType.toLowerCase();
      if (t !== wanted && !classes.has(t)) continue;
    }
    if (ace.type === ACE_TYPE.ALLOWED || ace.type === ACE_TYPE.ALLOWED_OBJECT) return { allowed: true, ace, why: 'allow' };
    if (ace.type === ACE_TYPE.DENIED || ace.type === ACE_TYPE.DENIED_OBJECT) return { allowed: false, ace, why: 'deny' };
  }
  return { allowed: false, why: 'none' };
}

const WELL_KNOWN: Record<string, string> = {
  'S-1-1-0': 'Everyone',
  'S-1-3-0': 'Creator Owner',
  'S-1-5-2': 'Network',
  'S-1-5-9': 'Enterprise Domain Controllers',
  'S-1-5-10': 'Self',
  'S-1-5-11': 'Authenticated Users',
  'S-1-5-18': 'Local System',
  'S-1-5-32-544': 'Administrators',
  'S-1-5-32-545': 'Users',
  'S-1-5-32-548': 'Account Operators',
  'S-1-5-32-554': 'Pre-Windows 2000 Compatible Access',
};

const DOMAIN_RIDS: Record<string, string> = {
  '500': 'Administrator',
  '512': 'Domain Admins',
  '513': 'Domain Users',
  '518': 'Schema Admins',
  '519': 'Enterprise Admins',
};

/** A readable name for well-known SIDs ("Everyone", "Domain Admins"), else undefined. */
export function wellKnownSidName(sid: string): string | undefined {
  const known = WELL_KNOWN[sid];
  if (known) return known;
  const m = /^S-1-5-21-\d+-\d+-\d+-(\d+)$/.exec(sid);
  return m?.[1] ? DOMAIN_RIDS[m[1]] : undefined;
}
