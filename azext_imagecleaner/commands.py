"""Command table: `aks create` and `aks update` (replacing core's), and the `aks image-cleaner` group."""

HELP_FLAGS = ("-h", "--help")


def cf_managed_clusters(cli_ctx, *_):
    # Imported at call time so that loading the table stays cheap.
    from azext_imagecleaner._client import cf_managed_clusters as factory

    return factory(cli_ctx)


def load_command_table(self, args):
    from azure.cli.core.commands import CliCommandType

    from azext_imagecleaner import _format

    with self.command_group("aks", client_factory=cf_managed_clusters) as g:
        g.custom_command("create", "aks_create", supports_no_wait=True)
        g.custom_command("update", "aks_update", supports_no_wait=True)

    cluster_side = CliCommandType(operations_tmpl="azext_imagecleaner.cluster#{}")
    with self.command_group(
        "aks image-cleaner", custom_command_type=cluster_side, client_factory=cf_managed_clusters
    ) as g:
        g.custom_command("run", "run", table_transformer=_format.run_table)
        g.custom_command("logs", "logs", table_transformer=_format.logs_table)
        g.custom_show_command("status", "status", table_transformer=_format.status_table)
        g.custom_command("report", "report", table_transformer=_format.report_table)
    fleet = CliCommandType(operations_tmpl="azext_imagecleaner.fleet#{}")
    with self.command_group("aks image-cleaner", custom_command_type=fleet) as g:
        g.custom_command("list", "list_clusters", table_transformer=_format.fleet_list_table)
        g.custom_command("set", "set_clusters", table_transformer=_format.fleet_set_table)
    with self.command_group(
        "aks image-cleaner exclusion", custom_command_type=cluster_side, client_factory=cf_managed_clusters
    ) as g:
        g.custom_command("list", "exclusion_list", table_transformer=_format.exclusion_table)
        g.custom_command("add", "exclusion_add", table_transformer=_format.exclusion_table)
        g.custom_command("remove", "exclusion_remove", table_transformer=_format.exclusion_table)

    # args is None when az loads everything (docs, linters). Help texts load only when they can be shown:
    # on -h/--help, or for the image-cleaner groups, whose help az shows when no subcommand is given.
    if args is None or any(a in HELP_FLAGS for a in args) or "image-cleaner" in args:
        from azext_imagecleaner._help import merge_help

        for command in ("aks create", "aks update"):
            if args is None or any(a in HELP_FLAGS for a in args):
                merge_help(command)
