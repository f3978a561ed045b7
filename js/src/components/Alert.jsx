/** An error reason shown to the reader (role="alert"), optionally dismissable. */
export function Alert({ children, onDismiss }) {
  if (!children) return null;
  return (
    <div className="tx-alert">
      <div role="alert" className="tx-alert-text">
        {children}
      </div>
      {onDismiss && (
        <button type="button" className="tx-alert-dismiss" aria-label="Dismiss" onClick={onDismiss}>
          ×
        </button>
      )}
    </div>
  );
}
