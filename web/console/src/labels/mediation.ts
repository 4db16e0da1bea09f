// Mediation's codes (owned by the mediation panel's author; see src/views/case/mediation/).

export const MEDIATION = {} as const;
