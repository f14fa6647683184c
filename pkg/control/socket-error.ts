// The one error a control socket that cannot be opened raises: it names the path and why.

export class ControlSocketError extends Error {
  override name = 'ControlSocketError';
  readonly code = 'ECONTROLSOCKET';
}
