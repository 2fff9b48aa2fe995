import { defaultTemplate } from "../../domain/profile/template.ts"

/** The images Umbra builds offline: the agent alone, and the sample workload on it (a client's default). */
export const agentImage = "umbra/agent:latest"
export const sampleWorkloadImage = defaultTemplate.image
