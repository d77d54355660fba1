/** What a handler sees of its delivery (HandlerContext). */
import type { Logger } from '../log';
import type { HandlerContext } from './handler';
import type { Claim } from './queue';

/** The handler's view of its delivery; its logger is made only if the handler asks for it. */
export class DeliveryContext implements HandlerContext {
  private child?: Logger;

  constructor(
    private readonly parent: Logger,
    private readonly eventId: string,
    private readonly claim: Claim,
  ) {}

  get raw(): string {
    return this.claim.raw;
  }

  get token(): string {
    return this.claim.token;
  }

  get delivery(): number {
    return this.claim.delivery;
  }

  get log(): Logger {
    return (this.child ??= this.parent.child({ eventId: this.eventId, token: this.claim.token }));
  }
}
