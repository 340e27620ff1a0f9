/**
 * The first reconcile, run by the deployment itself: a CDK trigger (a custom resource) invokes the
 * rotate function once, synchronously, after everything it and the publisher need exists (table,
 * bucket and its policy, distribution, API, the publisher's and events' stream mappings, the token
 * role named as signer) and before the `NoSuccessfulReconcile` alarm is created.
 *
 * Why: that alarm treats missing data as breaching (a schedule that never fires is what it watches
 * for), so on a fresh stack it would page within minutes, before the hourly schedule's first run. And
 * the deployment can sign when `cdk deploy` returns: the run that creates the first key waits for the
 * publisher to publish it and activates it (rotate-handler.ts).
 *
 * The function receives the empty event `{}` (the trigger sends no payload): a plain reconcile, like a
 * schedule tick. It runs again whenever the function's code or configuration changes (a new version),
 * which is harmless: the reconciler converges and does nothing when nothing is due. If the run fails,
 * the deployment fails with the function's error, so a broken key policy or grant is found at deploy
 * time, not an hour later.
 */
import { Annotations, Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';

export interface FirstReconcileProps {
  /** The rotate function. */
  readonly handler: lambda.Function;
  /** What must exist before the run (it creates a key, the publisher publishes it). */
  readonly executeAfter: readonly Construct[];
  /** What must wait for the run (the alarm that would otherwise see no successful reconcile). */
  readonly executeBefore: readonly Construct[];
}

/** What the trigger waits beyond the function's timeout: the invoke's own round trip, with room to spare. */
const TRIGGER_MARGIN = Duration.minutes(1);

/**
 * How long the trigger waits for the run: longer than the function may run (60 s in one region, 2
 * minutes across several: rotation-schedule.ts ROTATE_TIMEOUT), so a slow run fails the deployment
 * with the function's own timeout error, not with the trigger's. One region: 2 minutes, as before.
 */
export function triggerTimeout(handler: lambda.Function): Duration {
  // Lambda's own default when a function sets none.
  return (handler.timeout ?? Duration.seconds(3)).plus(TRIGGER_MARGIN);
}

export class FirstReconcile extends Construct {
  readonly trigger: triggers.Trigger;

  constructor(scope: Construct, id: string, props: FirstReconcileProps) {
    super(scope, id);
    // The trigger invokes the version through its provider's IAM policy (`<function arn>:*`); the
    // resource-based permission the warning is about is the schedule's, which invokes the function
    // itself, unqualified. Nothing calls the version through a resource-based permission.
    Annotations.of(props.handler).acknowledgeWarning(
      '@aws-cdk/aws-lambda:addPermissionsToVersionOrAlias',
      'The version is invoked only by the trigger provider, whose IAM policy covers <function arn>:*',
    );
    this.trigger = new triggers.Trigger(this, 'Trigger', {
      handler: props.handler,
      invocationType: triggers.InvocationType.REQUEST_RESPONSE,
      timeout: triggerTimeout(props.handler),
      executeOnHandlerChange: true,
      executeAfter: [...props.executeAfter],
      executeBefore: [...props.executeBefore],
    });
  }
}
