"""The mail bucket: raw messages as SES stored them, and the files that came with them."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# SES accepts messages up to 40 MB (with headers); anything larger is not mail SES delivered.
MAX_RAW_BYTES = 40 * 1024 * 1024


class RawMailTooLargeError(Exception):
    """The stored object is larger than any message SES accepts."""


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


def attachment_key(reference: str, message_id: str, index: int, filename: str) -> str:
    return f"tickets/{reference}/attachments/{message_id}/{index:02d}-{filename}"
