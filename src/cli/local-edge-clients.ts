/**
 * The local context's S3 and CloudFront adapters, in a module of their own so it loads them on first
 * use. A static import of the SDK here, not `import('@aws-sdk/…')` there: the bundled CLI (esbuild)
 * turns a dynamic import of a CommonJS package into a namespace without its named exports.
 */
import { CloudFrontClient, type CloudFrontClientConfig } from '@aws-sdk/client-cloudfront';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { CloudFrontCdn } from '../adapters/aws/cloudfront.ts';
import { S3ObjectStore } from '../adapters/aws/s3.ts';

export const s3Client = (config: S3ClientConfig) => new S3Client(config);
export const cloudFrontClient = (config: CloudFrontClientConfig) => new CloudFrontClient(config);
export { CloudFrontCdn, S3ObjectStore };
