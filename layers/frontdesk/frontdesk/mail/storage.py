"""The mail bucket: raw messages as SES stored them, and the files that came with them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# SES accepts messages up to 40 MB (with headers); anything larger is not mail SES delivered.
MAX_RAW_BYTES = 40 * 1024 * 1024


class RawMailTooLargeError(Exception):
    """The stored object is larger than any message SES accepts."""


class StoredObject(NamedTuple):
    """An object of the mail bucket found for a privacy request; in a versioned bucket, one
    version of it (each is deleted on its own)."""

    key: str
    size: int
    version_id: str | None = None


class MailBucket:
    def __init__(self, client: S3Client, bucket: str, raw_prefix: str) -> None:
        self._client = client
        self.bucket = bucket
        self.raw_prefix = raw_prefix

    def raw_key(self, ses_message_id: str) -> str:
        """Where the receipt rule's S3 action stored the message (prefix + SES message id)."""
        return f"{self.raw_prefix}{ses_message_id}"

    def read_raw(self, ses_message_id: str) -> bytes:
        response = self._client.get_object(Bucket=self.bucket, Key=self.raw_key(ses_message_id))
        if response.get("ContentLength", 0) > MAX_RAW_BYTES:  # checked before reading the body
            response["Body"].close()
            raise RawMailTooLargeError(ses_message_id)
        return response["Body"].read()

    def put_attachment(self, key: str, data: bytes, content_type: str, filename: str) -> None:
        # Served as a download, never rendered inline: the content type came from the sender.
        self._client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ContentDisposition=f"attachment; filename*=UTF-8''{quote(filename)}",
        )

    def quarantine(self, ses_message_id: str, reason: str) -> None:
        """Tag a raw message that must not be opened (e.g. SES found a virus); a lifecycle rule
        on the tag can expire it sooner."""
        self._client.put_object_tagging(
            Bucket=self.bucket,
            Key=self.raw_key(ses_message_id),
            Tagging={"TagSet": [{"Key": "frontdesk-quarantine", "Value": reason}]},
        )

    # -- privacy requests (tooling: `frontdesk privacy`, never called by a function) -----------

    def versioned(self) -> bool:
        """Whether the bucket keeps versions (the template does not turn it on; a team may)."""
        status = self._client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        return status in ("Enabled", "Suspended")

    def objects_of_ticket(
        self, reference: str, raw_keys: Sequence[str], *, versions: bool
    ) -> list[StoredObject]:
        """The files stored under a ticket and the raw messages its mail came in, as they exist
        now (every version of each when `versions`); keys that are gone are left out."""
        found = list(self._listed(ticket_prefix(reference), versions=versions, exact=False))
        for key in dict.fromkeys(raw_keys):
            found += self._listed(key, versions=versions, exact=True)
        return found

    def _listed(self, prefix: str, *, versions: bool, exact: bool) -> Iterator[StoredObject]:
        if versions:
            paginator = self._client.get_paginator("list_object_versions")
            for version_page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                entries: list[Any] = [
                    *version_page.get("Versions", []),
                    *version_page.get("DeleteMarkers", []),
                ]
                for entry in entries:
                    if not exact or entry["Key"] == prefix:
                        yield StoredObject(entry["Key"], int(entry.get("Size", 0)), entry["VersionId"])
            return
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                if not exact or entry["Key"] == prefix:
                    yield StoredObject(entry["Key"], int(entry.get("Size", 0)))

    def download(self, stored: StoredObject) -> bytes:
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Key": stored.key}
        if stored.version_id:
            arguments["VersionId"] = stored.version_id
        return self._client.get_object(**arguments)["Body"].read()

    def delete(self, objects: Sequence[StoredObject]) -> int:
        """Delete objects (the given versions of them, delete markers included), 1,000 a call;
        returns how many S3 reports deleted. Raises if S3 refused any."""
        deleted = 0
        for start in range(0, len(objects), 1000):
            chunk = objects[start : start + 1000]
            identifiers: list[Any] = [
                {"Key": item.key, **({"VersionId": item.version_id} if item.version_id else {})}
                for item in chunk
            ]
            response = self._client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": identifiers, "Quiet": False}
            )
            if errors := response.get("Errors"):
                codes = sorted({str(error.get("Code")) for error in errors})
                raise RuntimeError(f"S3 refused to delete {len(errors)} objects: {', '.join(codes)}")
            deleted += len(response.get("Deleted", []))
        return deleted


def ticket_prefix(reference: str) -> str:
    """Where a ticket's files are stored (every key attachment_key makes for it starts so)."""
    return f"tickets/{reference}/"


def attachment_key(reference: str, message_id: str, index: int, filename: str) -> str:
    return f"{ticket_prefix(reference)}attachments/{message_id}/{index:02d}-{filename}"
