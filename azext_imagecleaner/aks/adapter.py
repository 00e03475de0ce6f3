"""Image Cleaner's flags on `az aks create` and `az aks update`, whoever owns those commands.

az builds a command from the last loader that registered it: core's acs module, or an extension such as
aks-preview, which owns `aks create` and `aks update` too. az loads extensions sorted by name, so aks-preview
loads before this extension and another one may load after it. Registering create/update here would replace
the owner's command and take its flags away (aks-preview's preview flags would become "unrecognized
arguments"). So this extension registers neither. Once az has built the command and its arguments
(EVENT_INVOKER_POST_LOAD_ARGUMENTS, before the parser and before anything is sent), it adapts the command az
built, whoever built it:

- the three Image Cleaner arguments get this extension's help and its validator: the rules that need no
  cluster run before any request, whoever owns the command;
- the handler: where core owns the command, this extension's (handlers.py: If-Match where the service gives an
  ETag, the document sent back as read, an update that changes nothing not sent); where another extension owns
  it, a wrapper reads the cluster once, applies the rules that need it, sends nothing when nothing would change,
  and otherwise calls the owner's handler with the resolved Image Cleaner values. The owner then writes the
  cluster, and what it sends is its own business; --verbose says so.
"""

from knack.log import get_logger

logger = get_logger(__name__)

COMMANDS = ("aks create", "aks update")
IMAGE_CLEANER_GROUP = "Image Cleaner"


def register(cli_ctx, merge_help=False):
    """Adapt create/update once az has built them: the event fires once per invocation, after the arguments (and
    after every extension's loader, so after their help texts too); `merge_help`: help is asked for."""
    from azure.cli.core.commands.events import EVENT_INVOKER_POST_LOAD_ARGUMENTS
    from knack.events import EVENT_INVOKER_POST_PARSE_ARGS

    cli_ctx.register_event(EVENT_INVOKER_POST_LOAD_ARGUMENTS, _on_arguments_loaded)
    if merge_help:
        cli_ctx.register_event(EVENT_INVOKER_POST_LOAD_ARGUMENTS, _merge_help)
    cli_ctx.register_event(EVENT_INVOKER_POST_PARSE_ARGS, _on_arguments_parsed)


def _merge_help(_cli_ctx, commands_loader=None, **_):
    from azext_imagecleaner._help import merge_help

    for name in COMMANDS:
        if name in (commands_loader.command_table if commands_loader else {}):
            merge_help(name)


def image_cleaner_flags_given(values):
    """Whether any of the three flags is on the command line (`values`: the parsed arguments by name)."""
    from azext_imagecleaner.aks.rules import flags_from_raw

    return flags_from_raw(values).given


def _on_arguments_parsed(_cli_ctx, command=None, args=None, **_):
    """Without the three flags, the command is its owner's, as az runs it without this extension: az's "altered
    by the following extension" warning and its telemetry name no extension (core owns it) or the owner."""
    func = getattr(args, "func", None)
    original = getattr(func, "_imagecleaner_owner_source", _UNSET)
    if command in COMMANDS and original is not _UNSET and not image_cleaner_flags_given(vars(args)):
        func.command_source = original


_UNSET = object()


def _on_arguments_loaded(_cli_ctx, commands_loader=None, **_):
    for name in COMMANDS:
        command = (commands_loader.command_table if commands_loader else {}).get(name)
        if command is not None and not getattr(command, "_imagecleaner_adapted", False):
            adapt(command, owner_of(command))
            command._imagecleaner_adapted = True  # pylint: disable=protected-access


def owner_of(command):
    """The extension that owns `command`, or None when core does."""
    from azure.cli.core.commands import ExtensionCommandSource

    source = getattr(command, "command_source", None)
    return source.extension_name if isinstance(source, ExtensionCommandSource) else None


def adapt(command, owner):
    """Give `command` the Image Cleaner rules and help, and the handler that fits its owner."""
    from azext_imagecleaner._params import DISABLE_HELP, ENABLE_HELP, INTERVAL_HELP
    from azext_imagecleaner._validators import validate_image_cleaner_flags

    texts = {
        "enable_image_cleaner": ENABLE_HELP,
        "disable_image_cleaner": DISABLE_HELP,
        "image_cleaner_interval_hours": INTERVAL_HELP,
    }
    for dest, text in texts.items():
        argument = command.arguments.get(dest)
        if argument is None:
            continue
        settings = argument.type.settings
        settings.update(help=text, arg_group=IMAGE_CLEANER_GROUP)
        # One validator for the three flags, with the extension's wording; an owner's narrower check of the same
        # combination (core's enable/disable exclusivity) would only say less.
        settings.pop("validator", None)
    interval = command.arguments.get("image_cleaner_interval_hours")
    if interval is not None:
        # No argparse type: the validator parses the text, so the error names the flag, the value and the range.
        interval.type.settings.pop("type", None)
        if command.validator is None:
            interval.type.settings["validator"] = validate_image_cleaner_flags
        else:
            # A command-level validator makes az skip every argument-level one (knack's invocation).
            command.validator = _both(validate_image_cleaner_flags, command.validator)
    defaults = {dest: argument.type.settings.get("default") for dest, argument in command.arguments.items()}
    owner_handler = command.handler
    if owner is None:
        with_flags = _own(command)
    else:
        with_flags = _delegating(command.name, owner, owner_handler, defaults)

    def handler(command_args):
        # None of the three flags: the owner's command as the owner runs it (core's reconcile with --yes included).
        return (with_flags if image_cleaner_flags_given(command_args) else owner_handler)(command_args)

    command.handler = handler


def _both(first, second):
    def validate(cmd, namespace):
        first(cmd, namespace)
        second(cmd, namespace)

    return validate


def _own(command):
    """Core owns the command: the handler for a command line with Image Cleaner flags, this extension's, with core's
    own pieces (handlers.py)."""
    from azure.cli.core.commands import ExtensionCommandSource

    from azext_imagecleaner import EXTENSION_NAME

    # az tells the user, on help and on a run with the Image Cleaner flags, that an extension changed a core command
    # (`_on_arguments_parsed` gives a run without them its owner's source back).
    command._imagecleaner_owner_source = command.command_source  # pylint: disable=protected-access
    command.command_source = ExtensionCommandSource(overrides_command=True, extension_name=EXTENSION_NAME)
    name = command.name

    def handler(command_args):
        from azext_imagecleaner.aks import handlers
        from azext_imagecleaner.aks.core import core
        from azext_imagecleaner.azure.arm import cf_managed_clusters

        cmd = command_args.pop("cmd")
        core()  # a core that does not fit says so here, before login or any request
        operation = handlers.aks_create if name == "aks create" else handlers.aks_update
        return operation(cmd, cf_managed_clusters(cmd.cli_ctx), **command_args)

    return handler


def _delegating(name, owner, owner_handler, defaults):
    """Another extension owns the command: for a command line with Image Cleaner flags, the rules first, then its
    handler with the resolved values."""

    def handler(command_args):
        if name == "aks update":
            from azext_imagecleaner.aks import handlers

            settled = handlers.settle_for_owner(command_args["cmd"], command_args, defaults, owner)
            if settled is not None:
                return settled
        logger.info(
            "'az %s' belongs to the %s extension here: imagecleaner checked the Image Cleaner flags%s before "
            "anything was sent, and %s writes the cluster. Which document it sends, and whether it guards the "
            "write with If-Match, is %s's business.",
            name,
            owner,
            " and the cluster's current setting" if name == "aks update" else "",
            owner,
            owner,
        )
        return owner_handler(command_args)

    return handler
