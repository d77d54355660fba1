import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { checkName, propError } from './private/validation';

/** The Pod Security admission labels every RestrictedNamespace carries. */
export const POD_SECURITY_LABELS: Readonly<Record<string, string>> = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/warn': 'restricted',
};

/** Props of a RestrictedNamespace. */
export interface RestrictedNamespaceProps {
  /**
   * Name of the Namespace.
   * @default - the chart's namespace
   */
  readonly name?: string;
}

/**
 * A Namespace whose pods must meet the Pod Security "restricted" profile (enforced, audited and warned
 * on), as every pod of this library does. Put one in a chart that `kubectl apply -k`, Argo CD or Flux
 * deploys, so the namespace need not be made by hand first.
 */
export class RestrictedNamespace extends Construct {
  /** The Namespace's name. */
  public readonly name: string;
  /** The cdk8s-plus Namespace. */
  public readonly namespace: kplus.Namespace;

  public constructor(scope: Construct, id: string, props: RestrictedNamespaceProps = {}) {
    super(scope, id);
    const name = props.name ?? Chart.of(this).namespace;
    if (name === undefined) throw propError(this, 'name', name, "must be set when the chart has no 'namespace'");
    checkName(this, 'name', name);
    this.name = name;
    this.namespace = new kplus.Namespace(this, 'namespace', { metadata: { name, labels: { ...POD_SECURITY_LABELS } } });
    // cdk8s gives every object of a chart the chart's namespace; a Namespace is cluster-scoped and takes none.
    const obj = ApiObject.of(this.namespace);
    if (obj.metadata.namespace !== undefined) obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
}
