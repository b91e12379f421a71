// The gateway's configuration schema: every setting, its type and its default, in one place.
// Validated once at boot (YAML file, then environment overrides); an unknown or mistyped key
// fails the boot naming that key. Never log a parsed Config whole: it holds secrets.
import { z } from 'zod';

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const ms = z.number().int().nonnegative();
const seconds = z.number().int().nonnegative();
/** Modalities that differ in timeouts and cache lifetimes; unknown models are `other`. */
export type Category = 'text' | 'image' | 'video' | 'audio' | 'other';

const timeoutsSchema = z
  .object({
    first_byte_ms: ms.describe('time allowed until the upstream answers with headers'),
    total_ms: ms.describe('time allowed for the whole answer'),
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        body_limit_bytes: z.number().int().positive().default(1_048_576),
        request_timeout_ms: z.number().int().positive().default(60_000),
        trust_proxy: z.boolean().default(false),
        shutdown_timeout_ms: ms.default(310_000),
      })
      .strict()
      .prefault({}),
    upstream: z
      .object({
        base_url: z.url().default('https://elumenta.ru'),
        api_key: z.string().default(''),
        connections: z.number().int().positive().default(64),
        connect_timeout_ms: ms.default(5_000),
        timeouts: z
          .object({
            text: timeoutsSchema.default({ first_byte_ms: 120_000, total_ms: 180_000 }),
            image: timeoutsSchema.default({ first_byte_ms: 180_000, total_ms: 240_000 }),
            video: timeoutsSchema.default({ first_byte_ms: 60_000, total_ms: 120_000 }),
            audio: timeoutsSchema.default({ first_byte_ms: 180_000, total_ms: 240_000 }),
            other: timeoutsSchema.default({ first_byte_ms: 180_000, total_ms: 300_000 }),
          })
          .strict()
          .prefault({}),
        get_timeout_ms: ms.default(30_000),
        retry: z
          .object({
            max_attempts: z.number().int().min(1).max(10).default(3),
            base_delay_ms: ms.default(200),
            max_delay_ms: ms.default(5_000),
            max_retry_after_s: z.number().nonnegative().default(5),
          })
          .strict()
          .prefault({}),
        balance_refresh_ms: ms.default(60_000),
        catalog_refresh_ms: ms.default(600_000),
      })
      .strict()
      .prefault({}),
    admin: z
      .object({ token: z.string().default('') })
      .strict()
      .prefault({}),
    store: z
      .object({
        url: z.string().default('sqlite:./data/gateway.db'),
        redis_prefix: z.string().default('egw:'),
        sqlite_synchronous: z.enum(['normal', 'full']).default('normal'),
        // WAIT for this many replicas after settlements and key/team/admin-token/audit changes (src/store/replica-wait.ts).
        redis_wait_replicas: z.number().int().nonnegative().default(0),
        redis_wait_timeout_ms: z.number().int().positive().default(500), // WAIT 0 would block forever
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        key_cache_ttl_ms: ms.default(60_000),
        revocation_poll_ms: z.number().int().positive().default(500),
      })
      .strict()
      .prefault({}),
    quota: z
      .object({
        lease_ms: z.number().int().positive().default(600_000),
        pending_lease_ms: z.number().int().positive().default(3_600_000),
        default_estimate: z.number().int().nonnegative().default(50),
        estimates: z.record(z.string(), z.number().int().nonnegative()).default({}),
        on_store_error: z.enum(['deny', 'allow']).default('deny'),
        account_floor: z.number().int().nonnegative().default(0),
        timezone: z
          .string()
          .refine(isTimeZone, 'not a known IANA time zone')
          .default('UTC'),
        reconcile_interval_ms: z.number().int().positive().default(5_000),
        settlement_journal: z.string().default(''),
      })
      .strict()
      .prefault({}),
    cache: z
      .object({
        enabled: z.boolean().default(true),
        ttl_s: z
          .object({
            text: seconds.default(86_400),
            image: seconds.default(604_800),
            video: seconds.default(604_800),
            audio: seconds.default(604_800),
            other: seconds.default(86_400),
          })
          .strict()
          .prefault({}),
        max_ttl_s: seconds.default(2_592_000),
        pending_ttl_s: z.number().int().positive().default(900),
        models: z.record(z.string(), z.boolean()).default({}),
        memory_max_bytes: z.number().int().nonnegative().default(16_777_216),
        store_timeout_ms: z.number().int().positive().default(500),
        lock_ms: z.number().int().positive().default(10_000),
        poll_ms: z.number().int().positive().default(250),
      })
      .strict()
      .prefault({}),
    stream: z
      .object({
        heartbeat_interval_ms: ms.default(15_000),
        finish_after_disconnect: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        token: z.string().default(''),
        ledger_flush_ms: z.number().int().positive().default(1_000),
        state_cache_ms: ms.default(5_000),
      })
      .strict()
      .prefault({}),
    console: z
      .object({
        enabled: z.boolean().default(true),
        session_ttl_s: z.number().int().positive().default(28_800),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        retention_days: z.number().int().positive().default(365),
        prune_interval_ms: z.number().int().positive().default(3_600_000),
      })
      .strict()
      .prefault({}),
    alerts: z
      .object({
        webhooks: z
          .array(
            z
              .object({
                url: z.url(),
                secret: z.string().min(1).optional(),
                events: z.array(z.enum(['budget_threshold', 'account_floor', 'store_unavailable'])).min(1).optional(),
              })
              .strict(),
          )
          .default([]),
        budget_thresholds: z.array(z.number().positive().max(10)).default([0.8, 1.0]),
        account_margin: z.number().int().nonnegative().default(0),
        retry_for_s: seconds.default(600),
      })
      .strict()
      .prefault({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    // A lease shorter than a request could run would release budget still being spent.
    const longest = Math.max(...Object.values(config.upstream.timeouts).map((t) => t.total_ms));
    if (config.quota.lease_ms <= longest) {
      ctx.addIssue({
        code: 'custom',
        path: ['quota', 'lease_ms'],
        message: `must be longer than the longest upstream timeout (${longest} ms)`,
      });
    }
    // Cut off by the end of the grace, a request upstream still answers would be charged and never recorded.
    if (config.server.shutdown_timeout_ms <= longest) {
      ctx.addIssue({
        code: 'custom',
        path: ['server', 'shutdown_timeout_ms'],
        message: `must be longer than the longest upstream timeout (${longest} ms): in-flight requests are waited for, not cut off`,
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
