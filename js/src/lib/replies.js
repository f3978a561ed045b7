/** The `reason` a phoenix error reply gives, or `fallback` when it gives none. */
export function reasonOf(reply, fallback) {
  return reply && typeof reply.reason === "string" && reply.reason ? reply.reason : fallback;
}
