import type { Construct } from 'constructs';
import { propError } from './private/validation';

/** How KEDA combines several triggers of a ScaledJob. */
export enum MultipleScalersCalculation {
  /** The highest replica count any trigger asks for. */
  MAX = 'max',
  /** The lowest replica count any trigger asks for. */
  MIN = 'min',
  /** The average of the triggers' replica counts. */
  AVG = 'avg',
  /** The sum of the triggers' replica counts. */
  SUM = 'sum',
}

/** What every ScaledJob scaling strategy takes. */
export interface ScalingStrategyOptions {
  /**
   * Pod conditions that must all be true before a Job stops counting as pending. KEDA subtracts
   * pending Jobs from the ones it creates, so a condition that turns true only once the consumer
   * holds its event stops over-creation (kedacore/keda#5537).
   * @default - KEDA's rule (a pod Running or Succeeded is not pending); KedaScaledJob adds "Ready" when claimReadiness is on
   */
  readonly pendingPodConditions?: string[];
  /**
   * How the replica counts of several triggers are combined into one.
   * @default MultipleScalersCalculation.MAX
   */
  readonly multipleScalersCalculation?: MultipleScalersCalculation;
}

/** The knobs of KEDA's `custom` scaling strategy. */
export interface CustomScalingStrategyOptions extends ScalingStrategyOptions {
  /**
   * Subtracted from the queue length before scaling.
   * @default 0
   */
  readonly queueLengthDeduction?: number;
  /**
   * Fraction (0..1) of running Jobs subtracted from the queue length.
   * @default 1
   */
  readonly runningJobPercentage?: number;
}

/** The rendered `spec.scalingStrategy` of a ScaledJob. */
export interface ScalingStrategyJson {
  /** `accurate`, `eager` or `custom`; left out for KEDA's default strategy. */
  readonly strategy?: string;
  /** The custom strategy's deduction from the queue length. */
  readonly customScalingQueueLengthDeduction?: number;
  /** The custom strategy's fraction of running Jobs, as a decimal string. */
  readonly customScalingRunningJobPercentage?: string;
  /** Pod conditions that end a Job's pending state. */
  readonly pendingPodConditions?: string[];
  /** How several triggers' counts are combined. */
  readonly multipleScalersCalculation?: string;
}

/** KEDA's ScaledJob scaling strategy. */
export class ScalingStrategy {
  /**
   * Assumes the metric still counts events being processed. `strategy` is left out: KEDA
   * v2.20.0 and v2.20.1 reject the literal "default".
   */
  public static default(options: ScalingStrategyOptions = {}): ScalingStrategy {
    return new ScalingStrategy(undefined, options);
  }

  /** For consumers that take their event off the list (leases): in-flight events are not in the metric. */
  public static accurate(options: ScalingStrategyOptions = {}): ScalingStrategy {
    return new ScalingStrategy('accurate', options);
  }

  /** Fills up to maxReplicas while events wait, whatever is running. */
  public static eager(options: ScalingStrategyOptions = {}): ScalingStrategy {
    return new ScalingStrategy('eager', options);
  }

  /** KEDA's `custom` strategy: the queue length less a deduction and a fraction of the running Jobs. */
  public static custom(options: CustomScalingStrategyOptions = {}): ScalingStrategy {
    return new ScalingStrategy('custom', options, {
      customScalingQueueLengthDeduction: options.queueLengthDeduction,
      customScalingRunningJobPercentage: options.runningJobPercentage === undefined ? undefined : String(options.runningJobPercentage),
    });
  }

  private constructor(
    /** The `strategy` field; undefined means KEDA's default. */
    public readonly strategy: string | undefined,
    /** The options the strategy was made with. */
    public readonly options: ScalingStrategyOptions,
    private readonly custom: Pick<ScalingStrategyJson, 'customScalingQueueLengthDeduction' | 'customScalingRunningJobPercentage'> = {},
  ) {}

  /**
   * Throws the first invalid option, as every prop error reads: `<path of scope>: 'scalingStrategy.<option>' (value) ...`.
   * @internal
   */
  public validate(scope: Construct): void {
    const c = this.options as CustomScalingStrategyOptions;
    if (c.runningJobPercentage !== undefined && !(c.runningJobPercentage >= 0 && c.runningJobPercentage <= 1)) {
      throw propError(scope, 'scalingStrategy.runningJobPercentage', c.runningJobPercentage, 'must be between 0 and 1');
    }
    if (c.queueLengthDeduction !== undefined && !Number.isInteger(c.queueLengthDeduction)) {
      throw propError(scope, 'scalingStrategy.queueLengthDeduction', c.queueLengthDeduction, 'must be an integer');
    }
    for (const condition of this.options.pendingPodConditions ?? []) {
      if (!/^[A-Za-z][A-Za-z0-9./-]*$/.test(condition)) {
        throw propError(scope, 'scalingStrategy.pendingPodConditions', condition, 'must be pod condition types such as "Ready"');
      }
    }
  }

  /** Renders the strategy, with extra pending-pod conditions merged in. */
  public toJson(extraPendingPodConditions: string[] = []): ScalingStrategyJson {
    const conditions = [...new Set([...(this.options.pendingPodConditions ?? []), ...extraPendingPodConditions])];
    return {
      strategy: this.strategy,
      ...this.custom,
      pendingPodConditions: conditions.length ? conditions : undefined,
      multipleScalersCalculation: this.options.multipleScalersCalculation,
    };
  }
}
