export { createTestDatabase, type TestDatabase, testAdminUrl } from './database.ts';
export { ensureTestImages, TEST_APP_PORT, TEST_IMAGES, type TestImages } from './images.ts';
export { freePort, startNatsServer, type TestNatsServer } from './nats-server.ts';
export { type ReceivedMail, type SmtpSink, startSmtpSink } from './smtp-sink.ts';
