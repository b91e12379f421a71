// Where replicas agree that an alert is sent once: the first to claim an event id sends it;
// every other claim of that id fails until the claim expires or is released.
export interface AlertStore {
  /** True for the first claim of `id` (or the first after it expired or was released). */
  claim(id: string, ttlMs: number, now: number): Promise<boolean>;
  /** Re-arms `id` (e.g. the balance is back above the alert level). */
  release(id: string): Promise<void>;
}
