export { createTestDatabase, type TestDatabase, testAdminUrl } from './database.ts';
export {
  type FakeChatRequest,
  type FakeLlm,
  type FakeLlmFailure,
  type FakeLlmOptions,
  type FakeUsage,
  type RecordedRequest,
  startFakeLlm,
  tokensOf,
} from './fake-llm.ts';
export { ensureTestImages, TEST_APP_PORT, TEST_IMAGES, type TestImages } from './images.ts';
export { freePort, startNatsServer, type TestNatsServer } from './nats-server.ts';
export {
  type Cleanups,
  cleanups,
  eventually,
  metaFor,
  person,
  type ServiceStack,
  type ServiceStackOptions,
  startServiceStack,
} from './service-stack.ts';
export { type ReceivedMail, type SmtpSink, startSmtpSink } from './smtp-sink.ts';
