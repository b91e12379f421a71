// Reservation ids in time order (UUID version 7: the millisecond first, then random bits), so
// the SQLite store's settled ids (and held ones) are appended at the end of their index
// instead of landing on a random page of it. Nothing may read a time or a meaning from them.
import { randomUUID } from 'node:crypto';

export function reservationId(now: number): string {
  const ms = Math.max(0, Math.floor(now)).toString(16).padStart(12, '0').slice(-12);
  // randomUUID() is xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: keep its random bits and its variant (y).
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${randomUUID().slice(15)}`;
}
