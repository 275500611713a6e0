"""The simulated containers' insides: what a process started in a container (by `kubectl exec`, by the container's
own command, by a probe) sees and prints.

`flavours` says what each image of the registry ships (its shells and programs, its prompt, its files, its own
environment, its main process); `container` builds a snapshot of one running container (hostname, environment with
the Service variables Kubernetes injects, mounted ConfigMaps and Secrets) from plain dicts; `sh` interprets command
lines against a snapshot, pure but for a `Network` that answers curl/wget/nslookup; `world` reads a pod's snapshot
and the cluster's network from the database; `tty` is the terminal line discipline an interactive session sits
behind.
"""
