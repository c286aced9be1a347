"""Thin Click commands: parse -> collect -> diagnose -> render.

SUMMARIES is the one home of each command's one-line summary: `kubectl datadog --help` lists them
without importing any command module (cli.CommandGroup), and each command takes its own as
`short_help`. A new command adds its line here and its import to cli.load_command.
"""

SUMMARIES = {
    "admission-explain": "Why a pod was or was not mutated by the admission controller.",
    "clusterchecks": "Which cluster and endpoint checks exist, who runs them, why one does not.",
    "completion": "Show how to turn on shell completion for `kubectl datadog`.",
    "doctor": "Check the whole Datadog install at once: ranked findings and a score.",
    "env-check": "Can every node Agent find and authenticate to the DCA.",
    "hpa-explain": "Why an HPA on Datadog metrics does or does not scale.",
    "leader": "Who leads the Cluster Agents, and is the lock fresh.",
    "metamap": "The pod -> services map the DCA serves, per node.",
}
