/** D1 queries over job_leases: a job of the cron held by one run at a time. */
import type { D1Database } from "@cloudflare/workers-types";

/** The cron's jobs that call Stripe, each held by one run at a time. */
export const JOBS = {
  expiryReads: "expiry-reads",
  supersededExpiries: "superseded-expiries",
  followUps: "tax-exempt-follow-ups",
  reconcile: "reconcile",
} as const;

export interface JobLease {
  job: string;
  /** Random per run, so a late run can never give up or extend a lease another one took. */
  holder: string;
  /** Unix seconds. */
  now: number;
  until: number;
}

/** Takes the job if it is free or its lease ran out; false if another run holds it. */
async function takeJobLease(db: D1Database, lease: JobLease): Promise<boolean> {
  const row = await db
    .prepare(
      `INSERT INTO job_leases (job, holder, expires_at) VALUES (?1, ?2, ?4)
       ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE job_leases.expires_at <= ?3
       RETURNING holder`,
    )
    .bind(lease.job, lease.holder, lease.now, lease.until)
    .first<{ holder: string }>();
  return row?.holder === lease.holder;
}

async function releaseJobLease(db: D1Database, lease: JobLease): Promise<void> {
  await db
    .prepare("DELETE FROM job_leases WHERE job = ?1 AND holder = ?2")
    .bind(lease.job, lease.holder)
    .run();
}

/**
 * Runs `work` holding the job's lease, and gives the lease up after it, whatever happened; null
 * without running it if another run holds the job. A lease that could not be given up (D1
 * failing) runs out at `until`.
 */
export async function withJobLease<T>(
  db: D1Database,
  lease: JobLease,
  work: () => Promise<T>,
): Promise<{ value: T } | null> {
  if (!(await takeJobLease(db, lease))) return null;
  try {
    return { value: await work() };
  } finally {
    await releaseJobLease(db, lease).catch(() => undefined);
  }
}
