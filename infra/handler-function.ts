/**
 * One Lambda handler of this package: its own role (no AWS managed policy: the role may write to its
 * own log group and nothing else until a concern grants more), its own log group with a retention,
 * and the esbuild bundle described in `handler-bundling.ts`.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  HANDLER_ESBUILD,
  type HandlerName,
  handlerEntry,
  LOCK_FILE,
  PACKAGE_ROOT,
} from './handler-bundling.ts';

export interface HandlerFunctionProps {
  /** Which handler: bundles `src/handlers/<handler>.ts`. */
  readonly handler: HandlerName;
  readonly description: string;
  readonly environment: Readonly<Record<string, string>>;
  /** @default Duration.seconds(60) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Map stack traces to the TypeScript sources at run time (`--enable-source-maps`). Node then reads
   * and parses the bundle's source map when the module loads and maps every stack it formats, which a
   * latency-bound function pays on each cold start and each logged error; the `.map` file stays in
   * the bundle either way, for decoding a trace offline.
   * @default true
   */
  readonly sourceMaps?: boolean;
  /**
   * A fixed role name, for a role other stacks must name without a reference (a multi-region
   * deployment's key-policy principals, infra/regions.ts).
   * @default - a name CloudFormation generates
   */
  readonly roleName?: string;
  /**
   * A role created elsewhere (a replica region's key-policy principal, created by its base stack so it
   * exists before the first key names it); this construct only adds the log grant to it.
   * @default - a role of its own
   */
  readonly role?: iam.IRole;
}

export class HandlerFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.IRole;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role =
      props.role ??
      new iam.Role(this, 'Role', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `${props.handler} handler of the JWKS publisher`,
        ...(props.roleName ? { roleName: props.roleName } : {}),
      });
    // Instead of AWSLambdaBasicExecutionRole (logs:* on every log group in the account).
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerEntry(props.handler),
      handler: 'handler',
      projectRoot: PACKAGE_ROOT,
      depsLockFilePath: LOCK_FILE,
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(60),
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        ...props.environment,
        // Stack traces through the minified bundle point at the TypeScript sources.
        ...(props.sourceMaps === false ? {} : { NODE_OPTIONS: '--enable-source-maps' }),
      },
      bundling: {
        target: HANDLER_ESBUILD.target,
        format: OutputFormat.ESM,
        minify: HANDLER_ESBUILD.minify,
        sourceMap: HANDLER_ESBUILD.sourcemap,
        sourcesContent: HANDLER_ESBUILD.sourcesContent,
        mainFields: [...HANDLER_ESBUILD.mainFields],
        banner: HANDLER_ESBUILD.banner,
        externalModules: [...HANDLER_ESBUILD.external],
        // esbuild is a devDependency: bundle locally, never in Docker.
        forceDockerBundling: false,
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs24.x on purpose: the bundle targets node24 and CI runs the suite on Node 22, 24 and 26. ' +
        'Moving to a newer runtime is a deliberate upgrade together with the CI Node version, not a drift.',
    });
  }
}
