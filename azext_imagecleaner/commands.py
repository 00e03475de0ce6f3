"""Command table: `aks create` and `aks update`, replacing core's."""

HELP_FLAGS = ("-h", "--help")


def cf_managed_clusters(cli_ctx, *_):
    # Imported at call time so that loading the table stays cheap.
    from azext_imagecleaner._client import cf_managed_clusters as factory

    return factory(cli_ctx)


def load_command_table(self, args):
    with self.command_group("aks", client_factory=cf_managed_clusters) as g:
        g.custom_command("create", "aks_create", supports_no_wait=True)
        g.custom_command("update", "aks_update", supports_no_wait=True)

    # args is None when az loads everything (docs, linters); otherwise only merge for a help request.
    if args is None or any(a in HELP_FLAGS for a in args):
        from azext_imagecleaner._help import merge_help

        for command in ("aks create", "aks update"):
            merge_help(command)
