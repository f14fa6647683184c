// Lets one call per turn of the event loop through: the first take() in a turn is true, the rest false until the turn
// ends (turn-end.ts: the addon runs the microtask queue after each batch of datagrams it delivers, so a turn is at
// most one receive batch). For a cost worth paying once per batch but not once per message, e.g. handing a lone
// message to the socket ahead of the batch's one end-of-turn sendmmsg.

import { atTurnEnd } from './turn-end.js';

export class OncePerTurn {
  private taken = false;
  private readonly turnEnded = (): void => {
    this.taken = false;
  };

  /** True the first time in this turn; false after that until the turn ends. */
  take(): boolean {
    if (this.taken) return false;
    this.taken = true;
    atTurnEnd(this.turnEnded);
    return true;
  }
}
