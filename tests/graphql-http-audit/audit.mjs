#!/usr/bin/env node
// GraphQL-over-HTTP conformance audit of a running server, using graphql-http's
// serverAudits().
//
//   node audit.mjs http://127.0.0.1:PORT/graphql
//
// stdout: one JSON object { "results": [ { id, name, status, reason, response? } ... ] }
//   status is what graphql-http reports: "ok", or for a failed audit "error"
//   (MUST), "warn" (SHOULD) or "notice" (MAY). An audit that throws instead of
//   failing an assertion (network error, timeout, ...) is reported with status
//   "error" and a reason starting "audit threw:".
//   "response" (failed audits only) summarises the HTTP response that failed.
// exit code: 1 if any audit whose name starts with "MUST" is not "ok" (those are
//   also printed to stderr), 2 on a usage error, else 0.
//
// Environment:
//   AUDIT_FETCH_TIMEOUT_MS  per-request timeout (default 10000)
//   AUDIT_TOTAL_TIMEOUT_MS  deadline for the whole run (default 120000); audits
//                           not started by then are reported as "error".

import { serverAudits } from 'graphql-http';

const FETCH_TIMEOUT_MS = Number(process.env.AUDIT_FETCH_TIMEOUT_MS || 10_000);
const TOTAL_TIMEOUT_MS = Number(process.env.AUDIT_TOTAL_TIMEOUT_MS || 120_000);
const BODY_SNIPPET = 500;

const url = process.argv[2];
if (!url || process.argv.length > 3) {
  process.stderr.write('usage: node audit.mjs http://127.0.0.1:PORT/graphql\n');
  process.exit(2);
}
try {
  new URL(url);
} catch {
  process.stderr.write(`not a valid URL: ${url}\n`);
  process.exit(2);
}

// fetch with a per-request timeout (covers reading the body too).
function fetchWithTimeout(input, init = {}) {
  const signal = init.signal
    ? AbortSignal.any([init.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)])
    : AbortSignal.timeout(FETCH_TIMEOUT_MS);
  return fetch(input, { ...init, signal });
}

async function describeResponse(res) {
  if (!res || typeof res.status !== 'number') return undefined;
  const out = {
    status: res.status,
    contentType: res.headers?.get?.('content-type') ?? null,
  };
  try {
    if (!res.bodyUsed) {
      const text = await res.text();
      out.body = text.length > BODY_SNIPPET ? text.slice(0, BODY_SNIPPET) + '…' : text;
    }
  } catch (err) {
    out.body = `<unreadable: ${err?.message ?? err}>`;
  }
  return out;
}

function errMessage(err) {
  if (err == null) return String(err);
  const name = err.name && err.name !== 'Error' ? `${err.name}: ` : '';
  const cause = err.cause ? ` (cause: ${err.cause.message ?? err.cause})` : '';
  return `${name}${err.message ?? String(err)}${cause}`;
}

const audits = serverAudits({ url, fetchFn: fetchWithTimeout });
const deadline = Date.now() + TOTAL_TIMEOUT_MS;
const results = [];
let printed = false;

function finish() {
  if (printed) return;
  printed = true;
  // Anything not reached (global watchdog fired mid-run) is an error.
  for (const a of audits.slice(results.length)) {
    results.push({
      id: a.id,
      name: a.name,
      status: 'error',
      reason: 'audit not run: total time budget exceeded',
    });
  }
  process.stdout.write(JSON.stringify({ results }, null, 2) + '\n');
  const mustFailures = results.filter((r) => r.name.startsWith('MUST') && r.status !== 'ok');
  for (const r of mustFailures) {
    process.stderr.write(`${r.status.toUpperCase()} [${r.id}] ${r.name}: ${r.reason}` +
      (r.response ? ` -- got HTTP ${r.response.status} ${r.response.contentType ?? ''} ${JSON.stringify(r.response.body ?? '')}` : '') +
      '\n');
  }
  const count = (s) => results.filter((r) => r.status === s).length;
  process.stderr.write(
    `graphql-http audit: ${count('ok')} ok, ${count('error')} error, ${count('warn')} warn, ` +
      `${count('notice')} notice; ${mustFailures.length} MUST not ok\n`,
  );
  process.exitCode = mustFailures.length > 0 ? 1 : 0;
}

// Hard watchdog: even if something hangs outside fetch, print and exit.
const watchdog = setTimeout(() => {
  finish();
  process.exit(process.exitCode ?? 1);
}, TOTAL_TIMEOUT_MS + FETCH_TIMEOUT_MS + 1_000);
watchdog.unref();

for (const a of audits) {
  if (Date.now() > deadline) break;
  let result;
  try {
    const r = await a.fn();
    result = { id: r.id, name: r.name, status: r.status, reason: r.reason ?? null };
    if (r.status !== 'ok') result.response = await describeResponse(r.response);
  } catch (err) {
    result = { id: a.id, name: a.name, status: 'error', reason: `audit threw: ${errMessage(err)}` };
  }
  if (printed) break;
  results.push(result);
}
finish();
