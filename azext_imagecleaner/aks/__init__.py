"""The three Image Cleaner flags on az aks create/update: adapter, handlers, rules, guarded update, core's pieces."""
