import { AppError, type ErrorBody, type ErrorCode } from '@agentpod/contracts';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The HTTP status of each catalogue code. */
export function httpStatus(code: ErrorCode): number {
  switch (code) {
    case 'invalid':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'rate_limited':
      return 429;
    case 'internal':
      return 500;
    case 'unavailable':
      return 503;
    case 'timeout':
      return 504;
    default: {
      const unknownCode: never = code;
      throw new Error(`no HTTP status for ${String(unknownCode)}`);
    }
  }
}

type HttpError = { status: number; body: ErrorBody };

/** Errors fastify raises before a handler runs (body parsing, routing), in the catalogue's words. */
function frameworkError(error: FastifyError, bodyLimit: number): HttpError | undefined {
  const invalid = (status: number, message: string): HttpError => ({ status, body: { code: 'invalid', message } });
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return invalid(400, 'request body is not valid JSON');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return invalid(400, 'request body is empty but its content-type says JSON; send a JSON object or no body');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return invalid(400, 'request body size does not match its Content-Length');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return invalid(413, `request body is larger than ${bodyLimit} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return invalid(415, 'request body must be JSON (content-type: application/json)');
    case 'FST_ERR_BAD_URL':
      return invalid(400, 'the URL is not valid (bad percent-encoding)');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return invalid(400, 'a path segment of the URL is too long');
    default:
      return undefined;
  }
}

const CODE_OF_STATUS: Record<number, ErrorCode> = {
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  429: 'rate_limited',
};

/** Any thrown value as the one HTTP error shape; anything unexpected is `internal` with the request id. */
export function toHttpError(error: unknown, requestId: string, bodyLimit: number): HttpError {
  if (error instanceof AppError) {
    const body = error.toBody();
    return {
      status: httpStatus(error.code),
      body: error.code === 'internal' ? { ...body, correlationId: requestId } : body,
    };
  }
  const fastifyError = error as Partial<FastifyError>;
  if (typeof fastifyError.code === 'string') {
    const known = frameworkError(fastifyError as FastifyError, bodyLimit);
    if (known) return known;
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, body: { code: CODE_OF_STATUS[status] ?? 'invalid', message: String(fastifyError.message) } };
  }
  return {
    status: 500,
    body: {
      code: 'internal',
      message: `internal error; the gateway log has the details under request id ${requestId}`,
      correlationId: requestId,
    },
  };
}

/** Sends an error in the one shape, with Retry-After when the error says how long to wait. */
export function sendError(reply: FastifyReply, error: HttpError): FastifyReply {
  const details = error.body.details as { retryAfterSeconds?: unknown } | undefined;
  if (error.body.code === 'rate_limited' && typeof details?.retryAfterSeconds === 'number') {
    reply.header('retry-after', String(Math.max(1, Math.ceil(details.retryAfterSeconds))));
  }
  return reply.code(error.status).type('application/json; charset=utf-8').send({ error: error.body });
}

/** Installs the error handler, the not-found handler and the framework-error handler on the root instance. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error, request: FastifyRequest, reply) => {
    const http = toHttpError(error, request.id, bodyLimit);
    if (http.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: http.body.code, status: http.status }, http.body.message);
    return sendError(reply, http);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, {
      status: 404,
      body: {
        code: 'not_found',
        message: `no route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 200)}`,
      },
    }),
  );
}
