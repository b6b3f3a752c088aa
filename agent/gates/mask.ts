/** Masks contact data so a person recognises it and an onlooker learns little. */

export function maskEmail(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 1) return '•••';
  return `${address[0]}•••@${address.slice(at + 1)}`;
}

export function maskPhone(number: string): string {
  const digits = number.replace(/\D/g, '');
  return `•••••${digits.slice(-2)}`;
}
