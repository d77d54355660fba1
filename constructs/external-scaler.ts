import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { TriggerAuthentication } from '../imports/keda.sh';
import type { PodMonitor } from '../imports/monitoring.coreos.com';
import { Commands, FORECAST_DEFAULTS, SCALER_DEFAULTS, Env, EXTERNAL_SCALER_PORT, METRICS_PORT, SCALER_TLS_DIR } from '../runtime/contract';
import { connectionOf } from './private/redis-source';
import { renderRuntimeDeployment } from './private/runtime-deployment';
import { checkInteger, checkWholeSeconds, nameMetadata, propError } from './private/validation';
import type { RedisConnection, RedisSource, SecretKeyRef } from './redis-connection';
import { RuntimeDeploymentProps } from './runtime-deployment-props';

/** TLS of the scaler's gRPC port, and what KEDA needs to trust it (and to present itself). */
export interface ExternalScalerTls {
  /**
   * A Secret of type `kubernetes.io/tls` in the scaler's namespace: `tls.crt` and `tls.key` (a certificate for
   * the Service's name, `<service>.<namespace>.svc.cluster.local`), and `ca.crt`, with which the scaler requires
   * client certificates signed by that CA. Mounted read-only at SCALER_TLS_DIR.
   */
  readonly secret: kplus.ISecret;
  /**
   * The CA bundle KEDA verifies the scaler's certificate with (the TriggerAuthentication's `caCert`), a key of a
   * Secret in the namespace of each ScaledObject using the trigger.
   * @default - key `ca.crt` of `secret` (the ScaledObjects in the scaler's namespace)
   */
  readonly ca?: SecretKeyRef;
  /**
   * KEDA's client certificate, for a scaler whose Secret carries `ca.crt`: a Secret of type `kubernetes.io/tls`
   * (`tls.crt`, `tls.key`) in the namespace of the ScaledObjects, handed to KEDA as `tlsClientCert` and `tlsClientKey`.
   * @default - none: KEDA presents no client certificate
   */
  readonly clientCertificate?: kplus.ISecret;
}

/** Props of an ExternalScaler. */
export interface ExternalScalerProps extends RuntimeDeploymentProps {
  /** The Redis holding the forecasts: a RedisConnection, RedisQueue or RedisCluster (the Forecaster's). */
  readonly redis: RedisSource;
  /**
   * Replicas; KEDA calls one Service, so a second replica keeps scaling going through a restart or a node drain
   * (a PodDisruptionBudget keeps at least one).
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Time the scaler gives a read of a forecast from Redis before the call answers DEADLINE_EXCEEDED (KEDA sets no
   * deadline, and a hanging call stalls the ScaledObject's scaling); from 1 ms to 60 s.
   * @default Duration.millis(SCALER_DEFAULTS.deadlineMs) (2 s)
   */
  readonly deadline?: Duration;
  /**
   * Age beyond which a forecast is refused, for a trigger whose metadata says nothing (the Forecaster's triggers
   * always say it).
   * @default Duration.seconds(FORECAST_DEFAULTS.staleAfterSeconds) (2 minutes)
   */
  readonly staleAfter?: Duration;
  /**
   * Serve gRPC over TLS, and hand KEDA the CA (and its client certificate) through a TriggerAuthentication.
   * @default - plaintext gRPC
   */
  readonly tls?: ExternalScalerTls;
}

/**
 * The shared `redis-keda scaler`: KEDA's external scaler over gRPC, answering every workload's ScaledObject from
 * the forecasts in Redis. A Deployment (2 replicas), a PodDisruptionBudget (at least 1 available) and a Service
 * with the gRPC port (`grpc`, 50051) and the metrics port; readiness is `/healthz` on the metrics port (the
 * process serves; not `/readyz`: GetMetricSpec needs no Redis, and a Redis outage must reach KEDA as gRPC errors, so
 * its fallback applies). Hand its triggers out with `forecaster.trigger({ workload, scaler })`.
 */
export class ExternalScaler extends Construct {
  /** The scaler's Deployment. */
  public readonly deployment: kplus.Deployment;
  /** Its container. */
  public readonly container: kplus.Container;
  /** The Service KEDA calls. */
  public readonly service: kplus.Service;
  /** At least one replica available through voluntary disruptions. */
  public readonly podDisruptionBudget: kplus.k8s.KubePodDisruptionBudget;
  /** The PodMonitor, when asked for. */
  public readonly podMonitor?: PodMonitor;
  /** The Redis the scaler reads. */
  public readonly connection: RedisConnection;
  /** The default age beyond which forecasts are refused. */
  public readonly staleAfter: Duration;
  /** The TLS settings, when gRPC is served over TLS. */
  public readonly tls?: ExternalScalerTls;
  private readonly auths = new Map<Chart, TriggerAuthentication>();
  private readonly name?: string;

  public constructor(scope: Construct, id: string, props: ExternalScalerProps) {
    super(scope, id);
    checkInteger(this, 'replicas', props.replicas, 1);
    const deadline = props.deadline ?? Duration.millis(SCALER_DEFAULTS.deadlineMs);
    const deadlineMs = deadline.toMilliseconds();
    if (!(Number.isInteger(deadlineMs) && deadlineMs >= 1 && deadlineMs <= 60_000)) {
      throw propError(this, 'deadline', `${deadlineMs}ms`, 'must be a whole number of milliseconds from 1 ms to 60 s');
    }
    this.staleAfter = props.staleAfter ?? Duration.seconds(FORECAST_DEFAULTS.staleAfterSeconds);
    checkWholeSeconds(this, 'staleAfter', this.staleAfter);
    this.connection = connectionOf(props.redis);
    this.tls = props.tls;
    this.name = props.name;
    if (props.tls?.ca && !props.tls.ca.key)
      throw propError(this, 'tls.ca.key', props.tls.ca.key, `must name the key of Secret "${props.tls.ca.secret.name}" that holds the CA bundle`);

    const rendered = renderRuntimeDeployment(this, props, {
      container: 'scaler',
      args: [Commands.SCALER],
      replicas: props.replicas ?? 2,
      component: 'external-scaler',
      // GetMetricSpec answers from the trigger alone, and a Redis outage must reach KEDA as gRPC errors (its
      // fallback), not as a Service without endpoints.
      readyWithoutRedis: true,
      env: {
        ...this.connection.envVariables(),
        [Env.SCALER_PORT]: kplus.EnvValue.fromValue(String(EXTERNAL_SCALER_PORT)),
        [Env.SCALER_DEADLINE]: kplus.EnvValue.fromValue(String(deadlineMs)),
        [Env.SCALER_STALE_AFTER]: kplus.EnvValue.fromValue(String(this.staleAfter.toSeconds())),
        ...(props.tls ? { [Env.SCALER_TLS_DIR]: kplus.EnvValue.fromValue(SCALER_TLS_DIR) } : {}),
      },
    });
    this.deployment = rendered.deployment;
    this.container = rendered.container;
    this.podMonitor = rendered.podMonitor;
    this.container.addPort({ name: 'grpc', number: EXTERNAL_SCALER_PORT });
    if (props.tls) this.container.mount(SCALER_TLS_DIR, kplus.Volume.fromSecret(this, 'tls', props.tls.secret), { readOnly: true });
    this.service = new kplus.Service(this, 'service', {
      metadata: nameMetadata(props.name),
      selector: this.deployment,
      ports: [
        { name: 'grpc', port: EXTERNAL_SCALER_PORT, targetPort: EXTERNAL_SCALER_PORT },
        { name: 'metrics', port: METRICS_PORT, targetPort: METRICS_PORT },
      ],
    });
    this.podDisruptionBudget = new kplus.k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: nameMetadata(props.name),
      spec: { minAvailable: kplus.k8s.IntOrString.fromNumber(1), selector: { matchLabels: this.deployment.matchLabels } },
    });
    this.connection.allowFrom(this.deployment);
  }

  /**
   * `host:port` of the gRPC Service as KEDA (in its own namespace) reaches it: the cluster-local name when the
   * chart has a namespace, else the bare Service name.
   */
  public get address(): string {
    const namespace = Chart.of(this).namespace;
    return `${namespace ? `${this.service.name}.${namespace}.svc.cluster.local` : this.service.name}:${EXTERNAL_SCALER_PORT}`;
  }

  /**
   * With TLS, the TriggerAuthentication handing KEDA `caCert` (and `tlsClientCert`, `tlsClientKey`) from their
   * Secrets, one per chart of the ScaledObjects; undefined without TLS.
   */
  public triggerAuthentication(scope: Construct): TriggerAuthentication | undefined {
    const tls = this.tls;
    if (!tls) return undefined;
    const chart = Chart.of(scope);
    let auth = this.auths.get(chart);
    if (!auth) {
      const ca = tls.ca ?? { secret: tls.secret, key: 'ca.crt' };
      const client = tls.clientCertificate;
      auth = new TriggerAuthentication(chart, `${this.node.id}-trigger-auth-${this.node.addr.slice(0, 8)}`, {
        metadata: nameMetadata(this.name && `${this.name}-trigger-auth`),
        spec: {
          secretTargetRef: [
            { parameter: 'caCert', name: ca.secret.name, key: ca.key },
            ...(client
              ? [
                  { parameter: 'tlsClientCert', name: client.name, key: 'tls.crt' },
                  { parameter: 'tlsClientKey', name: client.name, key: 'tls.key' },
                ]
              : []),
          ],
        },
      });
      this.auths.set(chart, auth);
    }
    return auth;
  }
}
