import type { FastifyReply } from 'fastify';
import { ErrorCodes, type ErrorCode } from '../errors.js';

/**
 * Request-level errors. `POST /predict` answers `{ "error": { "code", "message" } }`; the Open Inference Protocol
 * routes (under /v2) answer `{ "error": "<message>" }` as the protocol defines, the code leading the message.
 */
export function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string): FastifyReply {
  const oip = reply.request.url.startsWith('/v2');
  return reply.code(status).send({ error: oip ? `${code}: ${message}` : { code, message } });
}

export function badRequest(reply: FastifyReply, message: string): FastifyReply {
  return sendError(reply, 400, ErrorCodes.BAD_REQUEST, message);
}

/** A request the server refuses as malformed (400), thrown where returning a reply is awkward (a body parser). */
export class BadRequest extends Error {}
