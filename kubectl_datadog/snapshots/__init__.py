"""What collection hands to diagnosis: plain, immutable data, and the pure parsing that builds it
from API dicts. Nothing here talks to the cluster, so diagnose/ depends on these types only."""
