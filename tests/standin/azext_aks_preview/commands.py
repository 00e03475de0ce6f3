"""aks create and aks update, as aks-preview registers them."""


def cf_managed_clusters(cli_ctx, *_):
    from azure.cli.command_modules.acs._client_factory import cf_managed_clusters as core_factory

    return core_factory(cli_ctx)


def load_command_table(self, _):
    with self.command_group("aks", client_factory=cf_managed_clusters) as g:
        g.custom_command("create", "aks_create", supports_no_wait=True)
        g.custom_command("update", "aks_update", supports_no_wait=True)
