; virtio-blk from a guest's side: set up queue 0, read sector 1 and check it
; holds the test's marker, write a marker to sector 2, flush, then read GET_ID.
%include "virtio.inc"

RING    equ 0x20000
HDR     equ 0x30000
DATA    equ 0x31000
STATUS  equ 0x32000

; request: type in eax, sector in edx, data length in ebp (0: none), data
; flags in esi (2 = device writes). Waits for used index ecx.
request:
    push ecx
    mov dword [HDR], eax
    mov dword [HDR + 4], 0
    mov dword [HDR + 8], edx
    mov dword [HDR + 12], 0
    mov byte [STATUS], 0xff
    push esi
    mov eax, HDR
    mov edx, 16
    mov esi, 1
    xor ecx, ecx
    call vio_desc
    pop esi
    test ebp, ebp
    jz .status
    mov eax, DATA
    mov edx, ebp
    or esi, 1
    inc ecx
    call vio_desc
.status:
    inc ecx
    mov eax, STATUS
    mov edx, 1
    mov esi, 2
    call vio_desc
    xor eax, eax
    xor ecx, ecx
    call vio_offer
    pop ecx
    call vio_wait
    cmp byte [STATUS], 0
    jne .err
    ret
.err:
    mov esi, s_status
    jmp fail

start:
    mov ebx, 0x10421af4
    call pci_find
    cmp eax, -1
    jne .found
    mov esi, s_nodev
    jmp fail
.found:
    mov edx, (1 << 9)           ; VIRTIO_BLK_F_FLUSH
    call vio_open
    mov esi, s_capacity
    call puts
    mov eax, [edi + BAR_DEVCFG]
    mov ecx, 8
    call puthex
    mov al, 10
    call putc
    xor eax, eax
    mov ebx, RING
    call vio_queue
    call vio_driver_ok

    ; read sector 1
    xor eax, eax                ; VIRTIO_BLK_T_IN
    mov edx, 1
    mov ebp, 512
    mov esi, 2
    mov ecx, 1
    call request
    mov esi, DATA
    mov edi, marker_in
    mov ecx, marker_in_len
    repe cmpsb
    jne .badread
    mov esi, s_read_ok
    call puts

    ; write sector 2
    mov esi, marker_out
    mov edi, DATA
    mov ecx, 512
    rep movsb
    mov ebx, 0x10421af4         ; vio_open's edi was clobbered: find it again
    call pci_find
    mov ebx, 0x10
    call pci_read
    and eax, 0xfffffff0
    mov edi, eax
    mov ebx, RING
    mov eax, 1                  ; VIRTIO_BLK_T_OUT
    mov edx, 2
    mov ebp, 512
    xor esi, esi
    mov ecx, 2
    call request
    mov esi, s_write_ok
    call puts

    ; flush
    mov eax, 4
    xor edx, edx
    xor ebp, ebp
    mov ecx, 3
    call request
    mov esi, s_flush_ok
    call puts

    ; GET_ID
    mov eax, 8
    xor edx, edx
    mov ebp, 20
    mov esi, 2
    mov ecx, 4
    mov byte [DATA + 20], 0
    call request
    mov esi, s_id
    call puts
    mov esi, DATA
    call puts
    mov al, 10
    call putc
    mov esi, s_done
    call puts
    jmp poweroff
.badread:
    mov esi, s_badread
    jmp fail

s_nodev:     db "no virtio-blk device", 0
s_status:    db "request status not OK", 0
s_badread:   db "sector 1 does not hold the marker", 0
s_capacity:  db "capacity ", 0
s_read_ok:   db "blk read ok", 10, 0
s_write_ok:  db "blk write ok", 10, 0
s_flush_ok:  db "blk flush ok", 10, 0
s_id:        db "blk id ", 0
s_done:      db "blk done", 10, 0
marker_in:   db "NUBE-SECTOR-ONE"
marker_in_len equ $ - marker_in
marker_out:  db "WRITTEN-BY-THE-GUEST"
             times 512 - ($ - marker_out) db 0x5a
