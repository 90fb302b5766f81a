/**
 * The HTTPS front of the webhook: /mutate and /validate (AdmissionReview in and out), /healthz,
 * /readyz and /metrics. Bodies are capped at 1 MiB; every request has a deadline below the
 * webhook configurations' 5 s timeoutSeconds; the decisions are the core's pure functions.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import {
  mutatePvc,
  parseAdmissionReview,
  reviewBody,
  validate,
  type AdmissionResponse,
  type AdmissionSnapshot,
} from '../core/admission.js';
import { parseJson } from '../core/json.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookServerDeps {
  snapshot(): AdmissionSnapshot;
  ready(): boolean;
  log: Logger;
  /** Per-request deadline in ms; below the configurations' timeoutSeconds (5 s). */
  deadlineMs: number;
}

export interface WebhookServer {
  server: Server;
  /** Stops accepting, lets in-flight requests finish, closes idle keep-alive connections. */
  shutdown(): Promise<void>;
  inFlight(): number;
}

type Endpoint = 'mutate' | 'validate';
type ResultLabel = 'allowed' | 'patched' | 'denied' | 'bad-request' | 'error';

class BodyError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > MAX_BODY_BYTES) {
      reject(new BodyError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(payload)),
  });
  res.end(payload);
}

function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain'): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function resultOf(response: AdmissionResponse): ResultLabel {
  if (!response.allowed) return 'denied';
  return response.patch === undefined ? 'allowed' : 'patched';
}

function createMetrics(): {
  registry: Registry;
  observe(endpoint: string, result: ResultLabel, seconds: number): void;
} {
  const registry = new Registry();
  const labelNames = ['endpoint', 'result'] as const;
  const requests = new Counter({
    name: 'pvc_chonker_webhook_requests_total',
    help: 'Admission requests answered, by endpoint and result (allowed, patched, denied, bad-request, error).',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'pvc_chonker_webhook_request_duration_seconds',
    help: 'Time from the request to the answer, by endpoint and result.',
    labelNames,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return {
    registry,
    observe(endpoint, result, seconds) {
      requests.inc({ endpoint, result });
      duration.observe({ endpoint, result }, seconds);
    },
  };
}

export function createWebhookServer(
  tls: { cert: string; key: string },
  deps: WebhookServerDeps,
): WebhookServer {
  const metrics = createMetrics();
  let inFlight = 0;
  let closing = false;

  async function review(
    endpoint: Endpoint,
    req: IncomingMessage,
  ): Promise<{ status: number; body: unknown; result: ResultLabel }> {
    let raw: string;
    try {
      raw = await readBody(req);
    } catch (error) {
      if (error instanceof BodyError)
        return { status: error.status, body: { message: error.message }, result: 'bad-request' };
      throw error;
    }
    const json = parseJson(raw);
    if (!json.ok)
      return {
        status: 400,
        body: { message: `the body is not JSON: ${json.error}` },
        result: 'bad-request',
      };
    const request = parseAdmissionReview(json.value);
    if (!request.ok)
      return { status: 400, body: { message: request.error }, result: 'bad-request' };
    const response =
      endpoint === 'mutate' ? mutatePvc(request.value, deps.snapshot()) : validate(request.value);
    if (!response.allowed)
      deps.log.info(
        {
          uid: response.uid,
          kind: request.value.kind,
          namespace: request.value.namespace,
          message: response.message,
        },
        'admission denied',
      );
    const body = reviewBody(response, (text) => Buffer.from(text, 'utf8').toString('base64'));
    return { status: 200, body, result: resultOf(response) };
  }

  async function handleReview(
    endpoint: Endpoint,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const started = process.hrtime.bigint();
    // A held timer, not AbortSignal.timeout: that one can be collected and never fire on Node 20.
    const deadline = setTimeout(() => {
      if (res.headersSent) return;
      deps.log.warn({ endpoint }, 'admission request passed its deadline');
      sendJson(res, 504, { message: `no answer within ${deps.deadlineMs} ms` });
      req.destroy();
    }, deps.deadlineMs);
    let result: ResultLabel = 'error';
    try {
      const answer = await review(endpoint, req);
      result = answer.result;
      if (!res.headersSent) sendJson(res, answer.status, answer.body);
    } catch (error) {
      deps.log.error(
        { endpoint, err: error instanceof Error ? error.message : String(error) },
        'admission request failed',
      );
      if (!res.headersSent) sendJson(res, 500, { message: 'internal error' });
    } finally {
      clearTimeout(deadline);
      metrics.observe(endpoint, result, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  function readyz(res: ServerResponse): void {
    if (deps.ready() && !closing) sendText(res, 200, 'ok');
    else sendText(res, 503, closing ? 'shutting down' : 'policy cache not synced');
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const key = `${req.method ?? 'GET'} ${path}`;
    if (closing) res.setHeader('Connection', 'close');
    switch (key) {
      case 'POST /mutate':
        await handleReview('mutate', req, res);
        return;
      case 'POST /validate':
        await handleReview('validate', req, res);
        return;
      case 'GET /healthz':
        sendText(res, 200, 'ok');
        return;
      case 'GET /readyz':
        readyz(res);
        return;
      case 'GET /metrics':
        sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
        return;
      default:
        sendJson(res, 404, { message: `no route ${key}` });
    }
  }

  const server = createServer(
    { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' },
    (req, res) => {
      inFlight += 1;
      res.on('close', () => {
        inFlight -= 1;
      });
      route(req, res).catch((error: unknown) => {
        deps.log.error(
          { err: error instanceof Error ? error.message : String(error) },
          'request failed',
        );
        if (!res.headersSent) sendJson(res, 500, { message: 'internal error' });
      });
    },
  );
  // Headers must arrive promptly; the body is bounded by the per-request deadline.
  server.headersTimeout = deps.deadlineMs;
  server.requestTimeout = deps.deadlineMs + 1000;

  return {
    server,
    inFlight: () => inFlight,
    shutdown() {
      closing = true;
      return new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
        // Idle keep-alive sockets would hold close() open; busy ones close after their answer.
        server.closeIdleConnections();
        const sweep = setInterval(() => {
          server.closeIdleConnections();
        }, 100);
        server.once('close', () => {
          clearInterval(sweep);
        });
      });
    },
  };
}
