"""Command table: the `aks image-cleaner` group. `aks create` and `aks update` are not registered here: whoever
owns them (core, or an extension such as aks-preview) keeps them, and `aks.adapter` adapts them once built."""

HELP_FLAGS = ("-h", "--help")
# Owned by core or another extension; `aks.adapter` adapts them once az has built them.
ADAPTED = ("aks create", "aks update")


def cf_managed_clusters(cli_ctx, *_):
    # Imported at call time so that loading the table stays cheap.
    from azext_imagecleaner.azure.arm import cf_managed_clusters as factory

    return factory(cli_ctx)


def _table(name):
    """A table transformer that imports _format only when a table is printed, so that loading the command
    table (which every `az aks ...` does) imports nothing more of the extension."""

    def transform(result):
        from azext_imagecleaner import _format

        return getattr(_format, name)(result)

    return transform


def load_command_table(self, args):
    from azure.cli.core.commands import CliCommandType

    asked = _help_asked_for(args)
    if " ".join(_command_words(args)[:2]) in ADAPTED:
        from azext_imagecleaner.aks import adapter

        # The help of `aks create/update` is merged once every loader has run (an extension loaded after this
        # one sets the owner's help again when it loads).
        adapter.register(self.cli_ctx, merge_help=bool(asked))

    cluster_side = CliCommandType(operations_tmpl="azext_imagecleaner.cluster.handlers#{}")
    with self.command_group(
        "aks image-cleaner", custom_command_type=cluster_side, client_factory=cf_managed_clusters
    ) as g:
        g.custom_command("run", "run", table_transformer=_table("run_table"))
        g.custom_command("logs", "logs", table_transformer=_table("logs_table"))
        g.custom_show_command("status", "status", table_transformer=_table("status_table"))
        g.custom_command("report", "report", table_transformer=_table("report_table"))
        g.custom_command("coverage", "coverage", table_transformer=_table("coverage_table"))
    health = CliCommandType(operations_tmpl="azext_imagecleaner.health.handlers#{}")
    with self.command_group("aks image-cleaner", custom_command_type=health, client_factory=cf_managed_clusters) as g:
        g.custom_command("check", "check", table_transformer=_table("check_table"))
    fleet = CliCommandType(operations_tmpl="azext_imagecleaner.fleet.handlers#{}")
    with self.command_group("aks image-cleaner", custom_command_type=fleet) as g:
        g.custom_command("list", "list_clusters", table_transformer=_table("fleet_list_table"))
        g.custom_command("set", "set_clusters", table_transformer=_table("fleet_set_table"))
    with self.command_group(
        "aks image-cleaner exclusion", custom_command_type=cluster_side, client_factory=cf_managed_clusters
    ) as g:
        g.custom_command("list", "exclusion_list", table_transformer=_table("exclusion_table"))
        g.custom_command("add", "exclusion_add", table_transformer=_table("exclusion_table"))
        g.custom_command("remove", "exclusion_remove", table_transformer=_table("exclusion_table"))

    # Help texts load only when they can be shown: for every command when az loads everything (args is None:
    # docs, linters), on -h/--help of `aks` itself or of a command of ours, and for the image-cleaner groups,
    # whose help az shows when no subcommand is given. `aks show --help` loads none of them.
    if asked is True:
        from azext_imagecleaner._help import merge_help

        for command in ADAPTED:
            merge_help(command)
    elif asked:
        import azext_imagecleaner._help  # noqa: F401  # pylint: disable=unused-import  # the groups' help texts


def _command_words(args):
    """The words of the command line before its first option: ['aks', 'update'] of `aks update -g rg`."""
    words = []
    for arg in args or ():
        if arg.startswith("-"):
            break
        words.append(arg)
    return words


def _help_asked_for(args):
    """True (all help), the commands whose help may be shown, or () when no help of ours can be shown."""
    if args is None:
        return True
    words = _command_words(args)
    if words[:2] == ["aks", "image-cleaner"]:
        return ("aks image-cleaner",)
    if not any(a in HELP_FLAGS for a in args):
        return ()
    if len(words) < 2:  # `az aks --help` lists the image-cleaner group with its summary
        return ("aks image-cleaner",)
    command = " ".join(words[:2])
    return (command,) if command in ADAPTED else ()
