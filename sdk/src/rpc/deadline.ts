/** The one figure a node and its clients share about deadlines: how a call's ends are ordered. */

/**
 * How much later than its envelope's deadline a client sets the call's transport deadline. The
 * node ends a call at the envelope's deadline and answers DEADLINE_EXCEEDED itself; were the
 * client's transport timer first, the client would reset the stream instead, and an HTTP/2 server
 * closes a connection whose peer resets streams fast (nghttp2's rapid-reset guard: 1,000 at once,
 * then 33 a second), failing every other call on it. The node's answer ends the stream cleanly.
 * @example
 * client.Execute(request, { deadline: new Date(envelopeDeadline + DEADLINE_SLACK_MS) }, callback)
 */
export const DEADLINE_SLACK_MS = 1_000;
