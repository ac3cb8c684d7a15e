/** The operations surface: metrics, health and readiness, the queue dashboard. */
export {
  classifySendError,
  createOpsMetrics,
  jobLatenessSeconds,
  metrics,
  OpsMetrics,
  SEND_RESULTS,
  telegramErrorCode,
  TimeoutError,
  withTimeout,
  type CountableQueue,
  type ObservableWorker,
  type OpsMetricsOptions,
  type SendResult,
} from './metrics.js';
export {
  DEFAULT_CHECK_TIMEOUT_MS,
  describeFailure,
  postgresCheck,
  postgresProbe,
  queueCheck,
  redisCheck,
  runReadiness,
  type ReadinessCheck,
  type ReadinessReport,
} from './health.js';
export { registerOpsRoutes, type OpsRouteDeps } from './routes.js';
export { ADMIN_USER, DEFAULT_DASHBOARD_PATH, isAuthorised, registerQueueDashboard } from './queue-dashboard.js';
