/**
 * The IAM a synthesized app really deploys, as concrete JSON an IAM evaluator can read: every
 * CloudFormation intrinsic (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, cross-stack and cross-region
 * references) resolved to the names and ARNs the resources would get in one account, so that the
 * functions' environments (what the handlers are cold-started with) and their roles' policies name the
 * same table, bucket and roles. Resources without a fixed name get their logical id as name.
 *
 * Test code (the IAM contract, test/iam/): it reads templates, never deploys anything.
 */
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

// Template JSON is CloudFormation's shapes; every reader below checks what it takes.
// biome-ignore lint/suspicious/noExplicitAny: template JSON
type Json = any;

export type PolicyDocument = { Version?: string; Statement: Json[] };

/** One function of the app: its role, its resolved environment and the identity policies of its role. */
export interface DeployedFunction {
  readonly stackName: string;
  readonly region: string;
  readonly logicalId: string;
  readonly description: string;
  readonly roleArn: string;
  readonly environment: Record<string, string>;
  readonly identityPolicies: { name: string; policy: PolicyDocument }[];
}

interface StackView {
  readonly stack: Stack;
  readonly name: string;
  readonly region: string;
  readonly resources: Record<string, { Type: string; Properties?: Json }>;
  readonly outputs: Record<string, { Value: Json; Export?: { Name: Json } }>;
}

export class DeployedApp {
  readonly account: string;
  readonly partition = 'aws';
  readonly #stacks: StackView[];

  /** `region` stands for an environment-agnostic stack's `AWS::Region`. */
  constructor(stacks: readonly Stack[], opts: { account: string; region: string }) {
    this.account = opts.account;
    this.#stacks = stacks.map((stack) => {
      const json = Template.fromStack(stack).toJSON();
      const region = stack.region.startsWith('${') ? opts.region : stack.region;
      return {
        stack,
        name: stack.stackName,
        region,
        resources: json.Resources ?? {},
        outputs: json.Outputs ?? {},
      };
    });
  }

  /** Every Lambda function whose description starts with `JWKS publisher:` (the app's own handlers). */
  functions(): DeployedFunction[] {
    const out: DeployedFunction[] = [];
    for (const view of this.#stacks) {
      for (const [id, r] of Object.entries(view.resources)) {
        if (r.Type !== 'AWS::Lambda::Function') continue;
        const description = String(r.Properties?.Description ?? '');
        if (!description.startsWith('JWKS publisher:')) continue;
        const roleArn = this.resolve(r.Properties.Role, view);
        out.push({
          stackName: view.name,
          region: view.region,
          logicalId: id,
          description,
          roleArn,
          environment: this.resolve(r.Properties.Environment?.Variables ?? {}, view),
          identityPolicies: this.identityPolicies(roleArn),
        });
      }
    }
    return out;
  }

  /** The identity policies attached to a role, from every stack (a base stack's role gets its policies elsewhere). */
  identityPolicies(roleArn: string): { name: string; policy: PolicyDocument }[] {
    const roleName = roleArn.replace(/^.*:role\//, '');
    const out: { name: string; policy: PolicyDocument }[] = [];
    for (const view of this.#stacks) {
      for (const [id, r] of Object.entries(view.resources)) {
        if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
          const roles = ([] as Json[]).concat(r.Properties.Roles ?? []).map((x) => this.resolve(x, view));
          if (roles.includes(roleName)) {
            out.push({ name: `${view.name}/${id}`, policy: this.resolve(r.Properties.PolicyDocument, view) });
          }
        }
        if (r.Type === 'AWS::IAM::Role' && this.#ref(view, id) === roleName) {
          for (const p of r.Properties.Policies ?? []) {
            out.push({
              name: `${view.name}/${id}/${p.PolicyName}`,
              policy: this.resolve(p.PolicyDocument, view),
            });
          }
        }
      }
    }
    return out;
  }

  /** The bucket policy of a bucket by name, if the app gives it one. */
  bucketPolicy(bucketName: string): PolicyDocument | undefined {
    return this.#resourcePolicy('AWS::S3::BucketPolicy', 'Bucket', bucketName);
  }

  /** The topic policy of a topic by ARN, if the app gives it one. */
  topicPolicy(topicArn: string): PolicyDocument | undefined {
    const hit = this.#find('AWS::SNS::TopicPolicy', (r, view) =>
      ([] as Json[]).concat(r.Properties.Topics).some((t) => this.resolve(t, view) === topicArn),
    );
    return hit ? this.resolve(hit.r.Properties.PolicyDocument, hit.view) : undefined;
  }

  /** The key policy of a KMS key the app creates (the topic key), by its ARN. */
  keyPolicy(keyArn: string): PolicyDocument | undefined {
    for (const view of this.#stacks) {
      for (const [id, r] of Object.entries(view.resources)) {
        if (r.Type === 'AWS::KMS::Key' && this.#att(view, id, 'Arn') === keyArn) {
          return this.resolve(r.Properties.KeyPolicy, view);
        }
      }
    }
    return undefined;
  }

  #resourcePolicy(type: string, field: string, value: string): PolicyDocument | undefined {
    const hit = this.#find(type, (r, view) => this.resolve(r.Properties[field], view) === value);
    return hit ? this.resolve(hit.r.Properties.PolicyDocument, hit.view) : undefined;
  }

  #find(type: string, test: (r: Json, view: StackView) => boolean): { r: Json; view: StackView } | undefined {
    for (const view of this.#stacks) {
      for (const r of Object.values(view.resources)) if (r.Type === type && test(r, view)) return { r, view };
    }
    return undefined;
  }

  /** A value of `view`'s template with every intrinsic resolved. */
  resolve(value: Json, view: StackView): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, view));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [fn] = keys as [string];
      const arg = value[fn];
      switch (fn) {
        case 'Ref':
          return this.#ref(view, arg);
        case 'Fn::GetAtt':
          return this.#att(view, arg[0], arg[1]);
        case 'Fn::Join':
          return (this.resolve(arg[1], view) as Json[]).join(arg[0]);
        case 'Fn::Select':
          return this.resolve(arg[1], view)[Number(this.resolve(arg[0], view))];
        case 'Fn::Split':
          return String(this.resolve(arg[1], view)).split(arg[0]);
        case 'Fn::Sub':
          return this.#sub(arg, view);
        case 'Fn::ImportValue':
          return this.#import(this.resolve(arg, view));
      }
      if (fn.startsWith('Fn::')) throw new Error(`unsupported intrinsic ${fn} in ${view.name}`);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v, view)]));
  }

  #sub(arg: Json, view: StackView): string {
    const [text, vars] = Array.isArray(arg) ? [arg[0] as string, arg[1] ?? {}] : [arg as string, {}];
    return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      if (name in vars) return String(this.resolve(vars[name], view));
      const [id, attr] = name.split('.');
      return String(attr ? this.#att(view, id as string, attr) : this.#ref(view, id as string));
    });
  }

  #import(exportName: string): Json {
    for (const view of this.#stacks) {
      for (const o of Object.values(view.outputs)) {
        if (o.Export && this.resolve(o.Export.Name, view) === exportName) return this.resolve(o.Value, view);
      }
    }
    throw new Error(`no stack exports ${exportName}`);
  }

  #resource(view: StackView, id: string) {
    const r = view.resources[id];
    if (!r) throw new Error(`${view.name} has no resource ${id}`);
    return r;
  }

  #ref(view: StackView, id: string): Json {
    const pseudo: Record<string, string> = {
      'AWS::Partition': this.partition,
      'AWS::Region': view.region,
      'AWS::AccountId': this.account,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': view.name,
    };
    if (id in pseudo) return pseudo[id];
    if (id === 'BootstrapVersion') return '/cdk-bootstrap/hnb659fds/version';
    const r = this.#resource(view, id);
    const p = r.Properties ?? {};
    const named = (field: string) => (p[field] === undefined ? id : String(this.resolve(p[field], view)));
    const { partition, account } = this;
    const region = view.region;
    switch (r.Type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        return named('TableName');
      case 'AWS::S3::Bucket':
        return p.BucketName === undefined ? id.toLowerCase() : this.resolve(p.BucketName, view);
      case 'AWS::IAM::Role':
        // CloudFormation names an unnamed role after its stack: two stacks' roles never share a name.
        return p.RoleName === undefined ? `${view.name}-${id}`.slice(0, 64) : named('RoleName');
      case 'AWS::SNS::Topic':
        return `arn:${partition}:sns:${region}:${account}:${named('TopicName')}`;
      case 'AWS::SecretsManager::Secret':
        return `arn:${partition}:secretsmanager:${region}:${account}:secret:${named('Name')}-AbCdEf`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${region}.amazonaws.com/${account}/${named('QueueName')}`;
      case 'AWS::CloudFront::Distribution':
        return `E${id.slice(0, 12).toUpperCase()}`;
      case 'AWS::Lambda::Function':
        return named('FunctionName');
      default:
        return id;
    }
  }

  #att(view: StackView, id: string, attr: string): Json {
    const r = this.#resource(view, id);
    if (r.Type === 'Custom::CrossRegionExportReader') return this.#crossRegion(attr);
    const ref = this.#ref(view, id);
    const { partition, account } = this;
    const region = view.region;
    switch (`${r.Type}.${attr}`) {
      case 'AWS::DynamoDB::Table.Arn':
      case 'AWS::DynamoDB::GlobalTable.Arn':
        return `arn:${partition}:dynamodb:${region}:${account}:table/${ref}`;
      case 'AWS::DynamoDB::Table.StreamArn':
      case 'AWS::DynamoDB::GlobalTable.StreamArn':
        return `arn:${partition}:dynamodb:${region}:${account}:table/${ref}/stream/2026-01-01T00:00:00.000`;
      case 'AWS::S3::Bucket.Arn':
        return `arn:${partition}:s3:::${ref}`;
      case 'AWS::S3::Bucket.RegionalDomainName':
        return `${ref}.s3.${region}.amazonaws.com`;
      case 'AWS::S3::Bucket.DomainName':
        return `${ref}.s3.amazonaws.com`;
      case 'AWS::IAM::Role.Arn':
        return `arn:${partition}:iam::${account}:role/${ref}`;
      case 'AWS::KMS::Key.Arn':
        return `arn:${partition}:kms:${region}:${account}:key/${ref}`;
      case 'AWS::SNS::Topic.TopicArn':
        return ref;
      case 'AWS::SQS::Queue.Arn':
        return `arn:${partition}:sqs:${region}:${account}:${id}`;
      case 'AWS::CloudFront::Distribution.DomainName':
        return `${String(ref).toLowerCase()}.cloudfront.net`;
      case 'AWS::Lambda::Function.Arn':
        return `arn:${partition}:lambda:${region}:${account}:function:${ref}`;
      default:
        return `${ref}.${attr}`;
    }
  }

  /** A cross-region reference: the value the writing stack exports under that name. */
  #crossRegion(name: string): Json {
    for (const view of this.#stacks) {
      for (const r of Object.values(view.resources)) {
        const exports = r.Type === 'Custom::CrossRegionExportWriter' ? r.Properties.WriterProps.exports : {};
        if (name in exports) return this.resolve(exports[name], view);
      }
    }
    throw new Error(`no stack writes the cross-region export ${name}`);
  }
}
