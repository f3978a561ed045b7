/** "connecting" / "connected" / "reconnecting", from the socket's open/error/close events. */
export function ConnectionIndicator({ state }) {
  return (
    <span role="status" aria-label="Connection" className={`tx-connection tx-connection-${state}`} data-state={state}>
      {state}
    </span>
  );
}
