import { env } from "cloudflare:workers";

const DAY = 86_400;

/**
 * Other apps' and this deployment's history: checkouts in every status, none overdue and none
 * past retention (so the cron has nothing to do and must find that out without reading them),
 * with random ids, hashes, digests and session ids; processed events and tenant customers.
 */
export async function seed(rows: number) {
  const now = Math.floor(Date.now() / 1000);
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO checkout_sessions (id, hash, app_id, tenant_id, livemode, state_digest, request_fingerprint, status,
       stripe_session_id, stripe_url, mode, price, quantity, tax_rate, allowed_country, payment_method,
       billing_address_collection, reverse_charge, created_at, updated_at, expires_at)
     SELECT lower(hex(randomblob(16))), lower(hex(randomblob(16))), 'app-' || (i % 50), 'tenant-' || (i % 500),
       i % 2, lower(hex(randomblob(32))), 'f',
       CASE i % 4 WHEN 0 THEN 'open' WHEN 1 THEN 'complete' WHEN 2 THEN 'expired' ELSE 'pending' END,
       CASE i % 4 WHEN 3 THEN NULL ELSE 'cs_seed_' || lower(hex(randomblob(12))) END,
       'https://checkout.stripe.test/' || i, 'payment', 'price_eur_once', 1, 'txr_vat_de_19', 'DE', 'card', 0, 0,
       ?2 - (i % (20 * ?3)), ?2, ?2 + ?3 - 60
     FROM n`,
  )
    .bind(rows, now, DAY)
    .run();
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO stripe_events (id, type, livemode, account, created_at, received_at)
     SELECT 'evt_seed_' || lower(hex(randomblob(12))), 'checkout.session.completed', i % 2, NULL, ?2 - i, ?2 - (i % (5 * ?3))
     FROM n`,
  )
    .bind(rows, now, DAY)
    .run();
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO subscriptions (id, app_id, tenant_id, livemode, checkout_id, customer_id, status,
       cancel_at_period_end, current_period_end, created_at, fetched_at_ms, synced_at, next_sync_at)
     SELECT 'sub_seed_' || i, 'app-' || (i % 50), 'tenant-' || (i % 500), i % 2, 'c' || i, 'cus_seed_' || i,
       CASE i % 3 WHEN 0 THEN 'active' WHEN 1 THEN 'past_due' ELSE 'canceled' END, 0, ?2 + 86400,
       ?2 - i, 0, ?2, CASE i % 3 WHEN 2 THEN NULL ELSE ?2 + 1000 * 86400 END
     FROM n`,
  )
    .bind(rows, now)
    .run();
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO invoices (id, app_id, tenant_id, livemode, subscription_id, status, currency, amount_due,
       amount_paid, amount_remaining, attempt_count, created_at, fetched_at_ms, synced_at)
     SELECT 'in_seed_' || i, 'app-' || (i % 50), 'tenant-' || (i % 500), i % 2, 'sub_seed_' || i, 'paid', 'eur',
       1900, 1900, 0, 1, ?2 - i, 0, ?2
     FROM n`,
  )
    .bind(rows, now)
    .run();
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
     INSERT INTO webhook_endpoints (id, app_id, livemode, url, status, secret, created_at, updated_at)
     SELECT 'we_seed' || printf('%017d', i), 'app-' || (i % 50), i % 2, 'https://hooks.example.com/' || i,
       'enabled', 'v1.x.y', ?1, ?1
     FROM n`,
  )
    .bind(now)
    .run();
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO webhook_events (id, app_id, tenant_id, livemode, type, object_kind, object_id, object, origin, created_at_ms)
     SELECT 'evt_' || lower(hex(randomblob(16))), 'app-' || (i % 50), 'tenant-' || (i % 500), i % 2,
       'checkout.completed', 'checkout', 'c' || i, '{}', 'seed-' || (i % 1000), (?2 - (i % (20 * ?3))) * 1000
     FROM n`,
  )
    .bind(rows, now, DAY)
    .run();
  await env.DB.prepare(
    `INSERT INTO webhook_deliveries (event_id, endpoint_id, app_id, status, attempts, next_attempt_at, enqueued_at, created_at, updated_at)
     SELECT e.id, 'we_seed' || printf('%017d', e.seq % 500), e.app_id,
       CASE e.seq % 10 WHEN 0 THEN 'pending' ELSE 'delivered' END, 1, ?1 + 3600, ?1, ?1, ?1
     FROM webhook_events e WHERE e.origin LIKE 'seed-%'`,
  )
    .bind(now)
    .run();
  await env.DB.prepare(
    `INSERT INTO webhook_attempts (event_id, endpoint_id, attempt, at_ms, status_code, duration_ms)
     SELECT event_id, endpoint_id, 1, ?1 * 1000, 204, 12 FROM webhook_deliveries WHERE endpoint_id LIKE 'we_seed%'`,
  )
    .bind(now)
    .run();
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO tenant_customers (app_id, tenant_id, livemode, stripe_customer_id, created_at, updated_at)
     SELECT 'app-' || (i % 50), 'tenant-' || i, i % 2, 'cus_seed_' || i, ?2, ?2 FROM n`,
  )
    .bind(rows, now)
    .run();
}
