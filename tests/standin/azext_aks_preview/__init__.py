"""A stand-in for aks-preview's loader (see ../README.md)."""

from azure.cli.core import AzCommandsLoader

import azext_aks_preview._help  # noqa: F401  # pylint: disable=unused-import  # as aks-preview loads its help


class ContainerServiceCommandsLoader(AzCommandsLoader):
    def __init__(self, cli_ctx=None):
        from azure.cli.core.commands import CliCommandType

        custom = CliCommandType(operations_tmpl="azext_aks_preview.custom#{}")
        super().__init__(cli_ctx=cli_ctx, custom_command_type=custom)

    def load_command_table(self, args):
        super().load_command_table(args)
        from azext_aks_preview.commands import load_command_table

        load_command_table(self, args)
        return self.command_table

    def load_arguments(self, command):
        super().load_arguments(command)
        from azext_aks_preview._params import load_arguments

        load_arguments(self, command)


COMMAND_LOADER_CLS = ContainerServiceCommandsLoader
