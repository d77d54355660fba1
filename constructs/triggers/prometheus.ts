import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { TriggerAuthentication } from '../../imports/keda.sh';
import type { SecretKeyRef } from '../redis-connection';
import { checkName, nameMetadata, propError } from '../private/validation';
import { IKedaTrigger, KedaTriggerConfig } from './trigger';

/** How the HPA compares a Prometheus query's value with `threshold`. */
export enum PrometheusMetricType {
  /** The value divided by the replica count is held at `threshold` (a target per replica). */
  AVERAGE_VALUE = 'AverageValue',
  /** The value itself is held at `threshold`, whatever the replica count. */
  VALUE = 'Value',
}

/** HTTP basic authentication from keys of existing Secrets. */
export interface PrometheusBasicAuth {
  /** The Secret key holding the user name. */
  readonly username: SecretKeyRef;
  /** The Secret key holding the password. */
  readonly password: SecretKeyRef;
}

/** Props of a PrometheusTrigger. */
export interface PrometheusTriggerProps {
  /** Base URL of the Prometheus HTTP API KEDA queries, e.g. `http://prometheus.monitoring.svc:9090`. */
  readonly serverAddress: string;
  /** The PromQL query; it must return a single number (a scalar or a one-element vector). */
  readonly query: string;
  /** Target value of the query per replica (AverageValue) or in total (Value); more than zero. */
  readonly threshold: number;
  /**
   * The scaler is active (0 -> 1) only when the query's value is above this.
   * @default 0
   */
  readonly activationThreshold?: number;
  /**
   * Tenant namespace sent with the query (Thanos / Cortex multi-tenancy), not the namespace of the workload.
   * @default - none sent
   */
  readonly namespace?: string;
  /**
   * Treat an empty query result as 0 instead of a scaler error.
   * @default true (KEDA's default)
   */
  readonly ignoreNullValues?: boolean;
  /**
   * How the HPA compares the value with `threshold`; ScaledObjects only (a KedaScaledJob ignores it).
   * @default - KEDA's default, AverageValue
   */
  readonly metricType?: PrometheusMetricType;
  /**
   * A bearer token in an existing Secret, sent as `Authorization: Bearer`. Not together with `basicAuth`.
   * @default - no bearer token
   */
  readonly bearerToken?: SecretKeyRef;
  /**
   * User name and password in existing Secrets for HTTP basic authentication. Not together with `bearerToken`.
   * @default - no basic authentication
   */
  readonly basicAuth?: PrometheusBasicAuth;
  /**
   * Trigger name, for `scalingModifiers` and KEDA's metrics; with credentials, the TriggerAuthentication is
   * `<name>-trigger-auth`.
   * @default - KEDA's positional name; a generated TriggerAuthentication name
   */
  readonly name?: string;
}

/**
 * KEDA's `prometheus` trigger: scale on the value of a PromQL query. Credentials reach KEDA through a
 * TriggerAuthentication this construct creates, which names the Secrets; no secret value is written.
 */
export class PrometheusTrigger extends Construct implements IKedaTrigger {
  /** Base URL of the Prometheus HTTP API. */
  public readonly serverAddress: string;
  /** The PromQL query. */
  public readonly query: string;
  /** Target value of the query. */
  public readonly threshold: number;
  /** Value above which the scaler is active. */
  public readonly activationThreshold: number;
  /** The TriggerAuthentication holding the Secret references, when credentials are set. */
  public readonly authentication?: TriggerAuthentication;
  private readonly props: PrometheusTriggerProps;

  /**
   * @param scope where the TriggerAuthentication goes; errors name this construct's path
   * @param id the construct id
   * @param props query, threshold and credentials
   */
  public constructor(scope: Construct, id: string, props: PrometheusTriggerProps) {
    super(scope, id);
    if (!/^https?:\/\/[^\s/?#]+(\/[^\s]*)?$/.test(props.serverAddress ?? '')) {
      throw propError(this, 'serverAddress', props.serverAddress, 'must be an http:// or https:// URL');
    }
    if (!props.query?.trim()) throw propError(this, 'query', props.query, 'must not be empty');
    if (!Number.isFinite(props.threshold) || props.threshold <= 0) throw propError(this, 'threshold', props.threshold, 'must be a number greater than 0');
    const activation = props.activationThreshold;
    if (activation !== undefined && (!Number.isFinite(activation) || activation < 0)) {
      throw propError(this, 'activationThreshold', activation, 'must be a number of at least 0');
    }
    if (props.bearerToken && props.basicAuth) {
      throw propError(this, 'bearerToken', `Secret ${props.bearerToken.secret.name}`, "must not be set together with 'basicAuth': KEDA takes one of bearer and basic");
    }
    checkName(this, 'name', props.name);
    const refs = [
      ...(props.bearerToken ? [secretRef(this, 'bearerToken', props.bearerToken)] : []),
      ...(props.basicAuth ? [secretRef(this, 'basicAuth.username', props.basicAuth.username), secretRef(this, 'basicAuth.password', props.basicAuth.password)] : []),
    ];
    this.props = props;
    this.serverAddress = props.serverAddress;
    this.query = props.query;
    this.threshold = props.threshold;
    this.activationThreshold = activation ?? 0;
    if (refs.length) {
      this.authentication = new TriggerAuthentication(this, 'auth', {
        metadata: nameMetadata(props.name && `${props.name}-trigger-auth`),
        spec: { secretTargetRef: refs },
      });
    }
  }

  /** Renders the trigger; its TriggerAuthentication must be in the namespace of the scaler at `scope`. */
  public bind(scope: Construct): KedaTriggerConfig {
    const mine = Chart.of(this).namespace;
    const theirs = Chart.of(scope).namespace;
    if (this.authentication && mine !== theirs) {
      throw propError(
        scope,
        'triggers',
        this.node.path,
        `names a TriggerAuthentication in namespace ${mine ?? '(none)'}, not ${theirs ?? '(none)'}: create the trigger in the scaler's namespace`,
      );
    }
    const p = this.props;
    const metadata: Record<string, string> = {
      serverAddress: p.serverAddress,
      query: p.query,
      threshold: String(p.threshold),
      activationThreshold: String(this.activationThreshold),
    };
    if (p.namespace !== undefined) metadata.namespace = p.namespace;
    if (p.ignoreNullValues !== undefined) metadata.ignoreNullValues = String(p.ignoreNullValues);
    // The mode is no secret: it goes in the metadata, only the credentials in the TriggerAuthentication.
    if (p.bearerToken) metadata.authModes = 'bearer';
    if (p.basicAuth) metadata.authModes = 'basic';
    return { type: 'prometheus', name: p.name, metadata, authentication: this.authentication, metricType: p.metricType };
  }
}

function secretRef(scope: Construct, prop: string, ref: SecretKeyRef): { parameter: string; name: string; key: string } {
  const parameter = prop === 'bearerToken' ? 'bearerToken' : prop.slice('basicAuth.'.length);
  if (!ref.key) throw propError(scope, `${prop}.key`, ref.key, `must name the key of Secret "${ref.secret.name}"`);
  return { parameter, name: ref.secret.name, key: ref.key };
}
