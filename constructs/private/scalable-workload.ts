import type { IScalableWorkload } from '../keda-scaled-object';

/** True for a cdk8s-plus Deployment or StatefulSet of any major, false for a `ScaleTargetReference`. */
export function isScalableWorkload(target: unknown): target is IScalableWorkload {
  const t = target as Partial<IScalableWorkload> | undefined;
  return typeof t?.markHasAutoscaler === 'function' && typeof t.toScalingTarget === 'function' && typeof t.apiObject?.toJson === 'function';
}
