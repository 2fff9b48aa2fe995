/** The sample workload's environment defaults, baked into its image and given by the process runtime alike. */
export const sampleWorkloadEnv = (port = 8080, metricsFile = "/tmp/umbra-metrics.json") => ({
  PORT: String(port),
  UMBRA_READY_URL: `http://127.0.0.1:${port}/healthz`,
  UMBRA_METRICS_FILE: metricsFile
})
