import { Construct } from 'constructs';
import { DEFAULT_RUNTIME_IMAGE, RUNTIME_IMAGE_CONTEXT_KEY, RUNTIME_IMAGE_ENV } from '../runtime/contract';
import { checkImage } from './private/validation';

/**
 * The image that runs `redis-keda <command>`: the construct's own prop, else the app-wide override
 * (cdk8s context `redis-keda:image`, then the `REDIS_KEDA_IMAGE` environment variable at synth),
 * else the published image tagged with this package's version.
 */
export function resolveRuntimeImage(scope: Construct, prop: string, image?: string): string {
  const candidates: Array<[source: string, image: string | undefined]> = [
    [prop, image],
    [`context ${RUNTIME_IMAGE_CONTEXT_KEY}`, scope.node.tryGetContext(RUNTIME_IMAGE_CONTEXT_KEY)],
    [RUNTIME_IMAGE_ENV, process.env[RUNTIME_IMAGE_ENV]],
  ];
  const [source, resolved] = candidates.find(([, candidate]) => candidate !== undefined) ?? [prop, DEFAULT_RUNTIME_IMAGE];
  checkImage(scope, source, resolved!);
  return resolved!;
}
