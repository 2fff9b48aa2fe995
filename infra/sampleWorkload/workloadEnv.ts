/** The sample workload's environment defaults, baked into its image and given by the process runtime alike. */
export const sampleWorkloadEnv = (port = 8080, metricsFile = "/tmp/umbra-metrics.json") => ({
  PORT: String(port),
  UMBRA_READY_PATH: "/healthz",
  UMBRA_METRICS_FILE: metricsFile
})
