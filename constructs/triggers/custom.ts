import { TriggerAuthentication } from '../../imports/keda.sh';
import { IKedaTrigger, KedaTriggerConfig } from './trigger';

/** Any KEDA trigger by type and metadata, for scalers this library has no typed class for. */
export class CustomTrigger implements IKedaTrigger {
  /**
   * A trigger rendered as given.
   * @param type KEDA's trigger type, e.g. `cron` or `prometheus`
   * @param metadata the trigger's metadata, as KEDA's scaler of that type reads it
   * @param options the trigger's name and the TriggerAuthentication its `authenticationRef` names
   */
  public constructor(
    public readonly type: string,
    public readonly metadata: Record<string, string>,
    private readonly options: { readonly name?: string; readonly authentication?: TriggerAuthentication } = {},
  ) {}

  /** Renders the trigger as given. */
  public bind(): KedaTriggerConfig {
    return { type: this.type, name: this.options.name, metadata: this.metadata, authentication: this.options.authentication };
  }
}
