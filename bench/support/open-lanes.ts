// Opening many connections from a driver process: the plan's source addresses in turn, a fixed
// number of setups in flight, failures counted (with the first one's message) rather than ending
// the ramp.
import { H2GrpcConnection } from './h2-grpc-client.js';

/** What a driver is asked to open. */
export interface OpenPlan {
  readonly host: string;
  readonly port: number;
  readonly count: number;
  /** Source addresses, used in turn. */
  readonly localAddresses: readonly string[];
  /** Setups in flight at once. */
  readonly concurrency: number;
}

export interface OpenTally {
  readonly opened: number;
  readonly errors: number;
  readonly firstError?: string;
}

/** Opens connections plan after plan, carrying on through the sources where the last plan stopped. */
export class ConnectionRamp {
  private nextSource = 0;

  /** Connects `plan.count` times and runs `setUp` on each connection (a throw counts as a failed setup). */
  async open(plan: OpenPlan, setUp: (connection: H2GrpcConnection) => Promise<void>): Promise<OpenTally> {
    let remaining = plan.count;
    let opened = 0;
    let errors = 0;
    let firstError: string | undefined;
    const lane = async (): Promise<void> => {
      while (remaining > 0) {
        remaining--;
        const localAddress = plan.localAddresses[this.nextSource++ % plan.localAddresses.length];
        try {
          await setUp(await H2GrpcConnection.connect({ host: plan.host, port: plan.port, ...(localAddress === undefined ? {} : { localAddress }) }));
          opened++;
        } catch (error) {
          errors++;
          firstError ??= String(error);
        }
      }
    };
    await Promise.all(Array.from({ length: plan.concurrency }, lane));
    return { opened, errors, ...(firstError === undefined ? {} : { firstError }) };
  }
}
